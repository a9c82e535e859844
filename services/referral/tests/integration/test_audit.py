"""The audit trail at referral (real referral and intake apps, a real database, SQLite and
PostgreSQL; real NATS): every partner and credential action, and every answer a partner gives
over HTTP, is one record (who, role, what, which partner, referral and case, from where; never
a note's text); the hash chain shows where a record was altered or deleted; only the data
protection officer and the coordinator read the trail; an action that cannot be recorded is
refused."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app as create_intake
from jejaring.intake.settings import IntakeSettings
from jejaring.referral.app import create_app as create_referral
from jejaring.referral.models import AuditRecord
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.testing import THREE_WAY_CASE, ShiftedClock, run_sql, until

ADMIN_TOKEN = "admin-token-for-audit-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
KEY = "identity-key-for-tests-0123456789abcdef"
TOKEN_ID = "00000000-0000-0000-0000-000000000002"
SEEDED = ["polresta-ppa", "babinsa-bpp-tengah", "posbakum-aisyiyah", "bikksa-mentari"]
NEW = {
    "slug": "uptd-ppa-balikpapan",
    "name": "UPTD PPA Kota Balikpapan",
    "kind": "government",
    "services": ["shelter", "accompaniment"],
}
NOTE = "Korban diantar ke rumah aman oleh paralegal"


@dataclass
class Referral:
    """Referral's app on a real database, and people's tokens signed as intake signs them."""

    client: TestClient
    database_url: str
    clock: ShiftedClock

    def token(self, role: PersonRole, **fields: Any) -> tuple[dict[str, str], uuid.UUID]:
        person = Person(id=uuid.uuid4(), name=f"Ibu {role.value}", role=role, **fields)
        token = issue(person, secret=KEY, now=self.clock())
        return {"Authorization": f"Bearer {token}"}, person.id

    def sql(self, statement: str | sa.Executable) -> list[Any]:
        return run_sql(self.database_url, statement)

    def records(self) -> list[Any]:
        rows = self.sql(sa.select(AuditRecord.__table__).order_by(AuditRecord.seq))
        return [row._mapping for row in rows]

    def verify(self) -> dict[str, Any]:
        answer = self.client.get("/api/v1/audit/verify", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def referral_app(database_url: str, nats_url: str, tmp_path: Path, clock: ShiftedClock) -> Any:
    settings = ReferralSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN_TOKEN,
        identity_public_key=public_key_of(KEY),
    )
    return create_referral(settings, clock=clock)


@pytest.fixture
def referral(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Referral]:
    clock = ShiftedClock(dt.datetime.now(dt.UTC))
    app = referral_app(database_url, nats_url, tmp_path, clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield Referral(client, database_url, clock)


def _public_key() -> str:
    seed = nkeys.encode_seed(uuid.uuid4().bytes * 2, nkeys.PREFIX_BYTE_USER)
    return str(nkeys.from_seed(seed).public_key.decode())


def test_each_partner_and_credential_action_adds_exactly_one_record(referral: Referral) -> None:
    started = referral.records()
    assert [(r["action"], r["partner"], r["role"]) for r in started] == [
        ("partner.add", slug, "system") for slug in SEEDED
    ], "the partners seeded at start are recorded as referral's own action"
    slug = NEW["slug"]
    admin_person, admin_id = referral.token(PersonRole.ADMIN)
    base = f"/api/v1/partners/{slug}"
    key_a, key_b = _public_key(), _public_key()
    steps: list[tuple[str, str, dict[str, str], dict[str, Any] | None, str]] = [
        ("POST", "/api/v1/partners", ADMIN, NEW, "partner.add"),
        ("POST", f"{base}/token", ADMIN, None, "partner.token.rotate"),
        ("POST", f"{base}/token", admin_person, {"revoke_old": True}, "partner.token.revoke"),
        ("POST", f"{base}/nats-keys", ADMIN, {"public_key": key_a}, "partner.nats_key.add"),
        (
            "POST",
            f"{base}/nats-keys",
            ADMIN,
            {"public_key": key_b, "rotate": True},
            "partner.nats_key.add",
        ),
        ("POST", f"{base}/nats-keys/revoke", ADMIN, {}, "partner.nats_key.revoke"),
        ("POST", f"{base}/deactivate", admin_person, None, "partner.deactivate"),
    ]
    for method, path, headers, body, action in steps:
        before = len(referral.records())
        answer = referral.client.request(method, path, json=body, headers=headers)
        assert answer.status_code in {200, 201}, (path, answer.text)
        added = referral.records()[before:]
        assert len(added) == 1, (path, added)
        (record,) = added
        assert (record["action"], record["partner"], record["client"]) == (
            action,
            slug,
            "testclient",
        )
        if headers is ADMIN:
            assert (str(record["user_id"]), record["role"]) == (TOKEN_ID, "admin_token")
        else:
            assert (record["user_id"], record["role"]) == (admin_id, "admin")
        assert record["case_reference"] is None and record["subject_id"] is None
    # A seeded partner has no token yet: its first is issued, not rotated.
    first = referral.client.post("/api/v1/partners/polresta-ppa/token", headers=ADMIN)
    assert first.status_code == 200
    assert referral.records()[-1]["action"] == "partner.token.issue"

    # A refused action (an unknown partner, a key already registered) records nothing.
    count = len(referral.records())
    assert (
        referral.client.post("/api/v1/partners/nobody/deactivate", headers=ADMIN).status_code == 404
    )
    refused = referral.client.post(
        "/api/v1/partners/polresta-ppa/nats-keys", json={"public_key": key_a}, headers=ADMIN
    )
    assert refused.status_code == 409
    assert len(referral.records()) == count
    assert referral.verify() == {
        "intact": True,
        "records": count,
        "broken_at": None,
        "reason": None,
        "detail": None,
    }


def test_only_the_dpo_and_the_coordinator_read_the_trail_and_reading_is_recorded(
    referral: Referral,
) -> None:
    admin_person, admin_id = referral.token(PersonRole.ADMIN)
    added = referral.client.post("/api/v1/partners", json=NEW, headers=admin_person)
    partner_token = {"Authorization": f"Bearer {added.json()['token']}"}
    dpo, dpo_id = referral.token(PersonRole.DPO)
    coordinator, _ = referral.token(PersonRole.COORDINATOR)
    officer, _ = referral.token(PersonRole.OFFICER, kelurahan_code="64.71.04.1003")
    staff, _ = referral.token(PersonRole.PARTNER_STAFF, partner_slug="posbakum-aisyiyah")

    for who in (officer, staff, partner_token, ADMIN, admin_person):
        refused = referral.client.get("/api/v1/audit", headers=who)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"][0]["field"] == "authorization"
    for who in (officer, staff, partner_token):
        assert referral.client.get("/api/v1/audit/verify", headers=who).status_code == 403
    assert referral.client.get("/api/v1/audit").status_code == 401

    before = len(referral.records())
    mine = referral.client.get(f"/api/v1/audit?partner={NEW['slug']}", headers=dpo)
    assert mine.status_code == 200, mine.text
    assert [r["action"] for r in mine.json()["items"]] == ["partner.add"]
    assert mine.json()["items"][0]["user_id"] == str(admin_id)
    by_person = referral.client.get(f"/api/v1/audit?user_id={admin_id}", headers=coordinator)
    assert by_person.json()["total"] == 1
    read = referral.records()[before:]
    assert [(r["action"], r["user_id"], r["role"], r["partner"]) for r in read] == [
        ("audit.read", dpo_id, "dpo", NEW["slug"]),
        ("audit.read", read[1]["user_id"], "coordinator", None),
    ]
    assert read[1]["subject_id"] == admin_id, "the person asked about"
    # Paging, and bad filters named.
    paged = referral.client.get("/api/v1/audit?per_page=2&page=2", headers=dpo).json()
    assert (paged["page"], len(paged["items"]), paged["items"][0]["seq"]) == (2, 2, 3)
    for query, field in (
        ("partner=UPTD PPA", "partner"),
        ("user_id=x", "user_id"),
        ("page=0", "page"),
    ):
        bad = referral.client.get(f"/api/v1/audit?{query}", headers=dpo)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == field, bad.text
    for who in (dpo, coordinator, ADMIN, admin_person):
        assert referral.client.get("/api/v1/audit/verify", headers=who).json()["intact"]


def test_an_altered_or_deleted_record_breaks_the_chain_at_that_record(referral: Referral) -> None:
    referral.client.post("/api/v1/partners", json=NEW, headers=ADMIN)
    referral.client.post(f"/api/v1/partners/{NEW['slug']}/deactivate", headers=ADMIN)
    assert referral.verify()["intact"]
    # Altered: the deactivation said to be someone else's.
    referral.sql("UPDATE audit_record SET role = 'dpo' WHERE seq = 6")
    broken = referral.verify()
    assert (broken["intact"], broken["broken_at"], broken["reason"], broken["records"]) == (
        False,
        6,
        "altered",
        5,
    )
    referral.sql("UPDATE audit_record SET role = 'admin_token' WHERE seq = 6")
    assert referral.verify()["intact"]
    # Deleted: the partner's addition taken out of the middle.
    referral.sql("DELETE FROM audit_record WHERE seq = 5")
    gone = referral.verify()
    assert (gone["broken_at"], gone["reason"]) == (6, "missing"), gone


def test_an_action_that_cannot_be_recorded_is_refused(referral: Referral) -> None:
    added = referral.client.post("/api/v1/partners", json=NEW, headers=ADMIN)
    partner = {"Authorization": f"Bearer {added.json()['token']}"}
    referral.sql("DELETE FROM audit_head")
    for path, body in (
        (f"/api/v1/partners/{NEW['slug']}/token", {"revoke_old": True}),
        (f"/api/v1/partners/{NEW['slug']}/deactivate", None),
        ("/api/v1/partners", {**NEW, "slug": "lbh-apik"}),
    ):
        refused = referral.client.post(path, json=body, headers=ADMIN)
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"][0]["field"] == "audit"
    # Nothing was done: the old token still works, the partner is active, none was added.
    own = referral.client.get(f"/api/v1/partners/{NEW['slug']}/referrals", headers=partner)
    assert own.status_code == 200
    listed = referral.client.get("/api/v1/partners", headers=ADMIN).json()
    assert [(p["slug"], p["active"]) for p in listed if p["slug"] in {NEW["slug"], "lbh-apik"}] == [
        (NEW["slug"], True)
    ]
    verdict = referral.verify()  # answered, saying why
    assert (verdict["intact"], verdict["reason"]) == (False, "missing")


@pytest.fixture
def loop(service_dbs: dict[str, str], nats_url: str, tmp_path: Path) -> Iterator[Any]:
    """Intake (where a case is recorded and referred) and referral, on their own databases."""
    clock = ShiftedClock(dt.datetime.now(dt.UTC))
    intake = create_intake(
        IntakeSettings(
            nats_url=nats_url,
            data_dir=tmp_path,
            admin_token=ADMIN_TOKEN,
            database_url=service_dbs["intake"],
            identity_key=KEY,
        ),
        clock=clock,
    )
    app = referral_app(service_dbs["referral"], nats_url, tmp_path, clock)
    with TestClient(intake) as i, TestClient(app) as r:
        until(lambda: i.get("/readyz").status_code == 200 and r.get("/readyz").status_code == 200)
        yield i, Referral(r, service_dbs["referral"], clock)


def test_each_answer_over_http_is_one_record_without_its_note(loop: Any) -> None:
    intake, referral = loop
    officer = intake.post(
        "/api/v1/users",
        json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": "64.71.04.1003"},
        headers=ADMIN,
    ).json()["token"]
    case = intake.post(
        "/api/v1/cases", json=THREE_WAY_CASE, headers={"Authorization": f"Bearer {officer}"}
    )
    assert case.status_code == 201, case.text
    staff, staff_id = referral.token(PersonRole.PARTNER_STAFF, partner_slug="posbakum-aisyiyah")
    (held,) = until(
        lambda: referral.client.get(
            "/api/v1/partners/posbakum-aisyiyah/referrals", headers=staff
        ).json()
    )
    url = f"/api/v1/referrals/{held['id']}/status"

    before = len(referral.records())
    accepted = referral.client.post(url, json={"status": "accepted", "note": NOTE}, headers=staff)
    assert accepted.status_code == 200, accepted.text
    (record,) = referral.records()[before:]
    assert dict(record) | {"at": None, "hash": None, "prev_hash": None, "seq": None} == {
        "seq": None,
        "at": None,
        "user_id": staff_id,
        "role": "partner_staff",
        "action": "referral.accepted",
        "partner": "posbakum-aisyiyah",
        "case_reference": case.json()["reference"],
        "subject_id": uuid.UUID(held["id"]),
        "client": "testclient",
        "prev_hash": None,
        "hash": None,
    }

    token = referral.client.post("/api/v1/partners/posbakum-aisyiyah/token", headers=ADMIN).json()[
        "token"
    ]
    before = len(referral.records())
    progress = referral.client.post(
        url,
        json={"status": "in-progress", "note": NOTE},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert progress.status_code == 200, progress.text
    (by_token,) = referral.records()[before:]
    assert (str(by_token["user_id"]), by_token["role"], by_token["action"]) == (
        TOKEN_ID,
        "partner_token",
        "referral.in-progress",
    )
    # A refused answer (not this partner's referral) records nothing.
    other, _ = referral.token(PersonRole.PARTNER_STAFF, partner_slug="bikksa-mentari")
    count = len(referral.records())
    assert referral.client.post(url, json={"status": "completed"}, headers=other).status_code == 404
    assert len(referral.records()) == count
    assert not any(NOTE in str(value) for r in referral.records() for value in r.values())
    assert referral.verify()["intact"]
