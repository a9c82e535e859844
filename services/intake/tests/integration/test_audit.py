"""The audit trail in intake (a real database, SQLite and PostgreSQL; real NATS): every read of
a case's personal data and every write is one record, with who, role, case, when and from
where and never the data itself; the hash chain shows where a record was altered or deleted;
only the data protection officer and the coordinator read the trail."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jejaring.intake import audit
from jejaring.intake.app import create_app
from jejaring.intake.models import AuditRecord
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto, db
from jejaring.testing import THREE_WAY_CASE, VICTIM_NAME, ShiftedClock

ADMIN = "admin-token-for-audit-tests-0123456789"
KARANG_REJO = THREE_WAY_CASE["kelurahan_code"]
CASE = THREE_WAY_CASE


class Intake:
    """Intake's app on a real database, with an officer, a coordinator, a data protection
    officer and partner staff (their API tokens)."""

    def __init__(self, client: TestClient, database_url: str) -> None:
        self.client = client
        self.database_url = database_url
        self.tokens: dict[str, str] = {"admin": ADMIN}
        self.ids: dict[str, str] = {}
        for role, extra in (
            ("officer", {"kelurahan_code": KARANG_REJO}),
            ("coordinator", {}),
            ("dpo", {}),
            ("partner_staff", {"partner_slug": "posbakum-aisyiyah"}),
        ):
            made = self.call(
                "admin", "POST", "/api/v1/users", json={"name": role, "role": role, **extra}
            )
            assert made.status_code == 201, made.text
            self.tokens[role], self.ids[role] = made.json()["token"], made.json()["id"]

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def record_case(self, body: dict[str, Any] = CASE) -> dict[str, Any]:
        made = self.call("officer", "POST", "/api/v1/cases", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def verify(self, role: str = "dpo") -> dict[str, Any]:
        answer = self.call(role, "GET", "/api/v1/audit/verify")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def sql(self, statement: str | sa.Executable, **params: Any) -> list[Any]:
        """Run SQL on intake's database, as someone with write access to it could."""

        async def run() -> list[Any]:
            engine = db.create_engine(self.database_url)
            try:
                async with engine.begin() as conn:
                    query = sa.text(statement) if isinstance(statement, str) else statement
                    result = await conn.execute(query, params)
                    return list(result.all()) if result.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def records(self) -> list[Any]:
        return self.sql(sa.select(AuditRecord.__table__).order_by(AuditRecord.seq))


MASTER_KEYS = crypto.generate_line("t1")  # replicas share the master keys


def replica(database_url: str, nats_url: str, tmp_path: Path) -> TestClient:
    """An intake app on the database (several may share one, as replicas do)."""
    settings = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=MASTER_KEYS,
    )
    app = create_app(settings, clock=ShiftedClock(dt.datetime.now(dt.UTC)))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def intake(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Intake]:
    with replica(database_url, nats_url, tmp_path) as client:
        yield Intake(client, database_url)


def test_each_read_of_a_case_adds_exactly_one_record_without_the_data(intake: Intake) -> None:
    case = intake.record_case()
    before = len(intake.records())
    assert intake.call("officer", "GET", f"/api/v1/cases/{case['id']}").status_code == 200
    rows = intake.records()
    assert len(rows) == before + 1
    read = rows[-1]._mapping
    assert read["action"] == "case.read"
    assert str(read["user_id"]) == intake.ids["officer"]
    assert read["role"] == "officer"
    assert read["case_reference"] == case["reference"]
    assert read["client"] == "testclient"  # the client address as the app sees it
    assert intake.call("coordinator", "GET", f"/api/v1/cases/{case['id']}").status_code == 200
    assert [r.role for r in intake.records()[before:]] == ["officer", "coordinator"]

    # The list shows no names: one record per list, naming no case.
    assert intake.call("officer", "GET", "/api/v1/cases").status_code == 200
    listed = intake.records()[-1]._mapping
    assert (listed["action"], listed["case_reference"]) == ("case.list", None)

    # Writes: one record each, with the case.
    url = f"/api/v1/cases/{case['id']}"
    patched = intake.call("officer", "PATCH", url, json={"risk_level": "high"})
    assert patched.status_code == 200, patched.text
    closed = intake.call("officer", "POST", f"{url}/close", json={"outcome": "resolved"})
    assert closed.status_code == 200, closed.text
    tail = [(r.action, r.case_reference) for r in intake.records()[-2:]]
    assert tail == [("case.update", case["reference"]), ("case.close", case["reference"])]

    everything = " ".join(str(v) for r in intake.records() for v in r)
    for part in VICTIM_NAME.split():
        assert part not in everything


def test_a_refused_read_adds_no_record_and_the_create_is_recorded_with_the_case(
    intake: Intake,
) -> None:
    before = len(intake.records())
    case = intake.record_case()
    (created,) = intake.records()[before:]
    assert (created.action, created.case_reference, created.role) == (
        "case.create",
        case["reference"],
        "officer",
    )
    assert intake.call("dpo", "GET", f"/api/v1/cases/{case['id']}").status_code == 403
    assert intake.call("dpo", "GET", "/api/v1/cases").status_code == 403
    assert intake.call("dpo", "GET", "/api/v1/board").status_code == 403
    assert intake.call("dpo", "POST", "/api/v1/cases", json=CASE).status_code == 403
    assert len(intake.records()) == before + 1


def test_a_consent_override_is_its_own_record(intake: Intake) -> None:
    child = {
        **CASE,
        "victims": [{"name": "Ani", "sex": "female", "age": 9}],
        "consent": {
            "given_by": "override",
            "override_reason": "guardian_is_alleged_perpetrator",
            "scope": CASE["consent"]["scope"],
        },
    }
    before = len(intake.records())
    case = intake.record_case(child)
    added = [(r.action, r.case_reference) for r in intake.records()[before:]]
    assert added == [("case.create", case["reference"]), ("consent.override", case["reference"])]
    confirm = f"/api/v1/cases/{case['id']}/override/confirm"
    assert intake.call("coordinator", "POST", confirm).status_code == 200
    last = intake.records()[-1]
    assert (last.action, last.case_reference, last.role) == (
        "consent.confirm",
        case["reference"],
        "coordinator",
    )


def test_an_assignment_is_recorded_with_the_officer_assigned(intake: Intake) -> None:
    case = intake.record_case()
    other = intake.call(
        "admin",
        "POST",
        "/api/v1/users",
        json={"name": "o2", "role": "officer", "kelurahan_code": KARANG_REJO},
    ).json()
    url = f"/api/v1/cases/{case['id']}/assign"
    assigned = intake.call("coordinator", "POST", url, json={"officer_id": other["id"]})
    assert assigned.status_code == 200, assigned.text
    last = intake.records()[-1]
    assert (last.action, last.case_reference, str(last.subject_id)) == (
        "case.assign",
        case["reference"],
        other["id"],
    )


def test_user_and_credential_actions_are_recorded_with_the_user_acted_on(intake: Intake) -> None:
    officer = intake.ids["officer"]
    before = len(intake.records())
    assert intake.call("admin", "POST", f"/api/v1/users/{officer}/token").status_code == 200
    assert intake.call("admin", "POST", f"/api/v1/users/{officer}/token/revoke").status_code == 200
    assert intake.call("admin", "POST", f"/api/v1/users/{officer}/deactivate").status_code == 200
    added = [(r.action, str(r.subject_id), r.role) for r in intake.records()[before:]]
    assert added == [
        ("user.token", officer, "admin"),
        ("user.revoke", officer, "admin"),
        ("user.deactivate", officer, "admin"),
    ]
    # The four users made by the fixture: one user.create each.
    creates = [r for r in intake.records() if r.action == "user.create"]
    assert {str(r.subject_id) for r in creates} == set(intake.ids.values())


def test_only_the_dpo_and_the_coordinator_read_the_trail_and_reading_it_is_recorded(
    intake: Intake,
) -> None:
    case = intake.record_case()
    assert intake.call("officer", "GET", f"/api/v1/cases/{case['id']}").status_code == 200
    query = {"case_reference": case["reference"]}
    for role in ("officer", "partner_staff", "admin"):
        refused = intake.call(role, "GET", "/api/v1/audit", params=query)
        assert refused.status_code == 403, (role, refused.text)
    for role in ("officer", "partner_staff"):
        assert intake.call(role, "GET", "/api/v1/audit/verify").status_code == 403, role
    for role in ("dpo", "coordinator", "admin"):
        assert intake.verify(role)["intact"] is True, role

    page = intake.call("dpo", "GET", "/api/v1/audit", params=query)
    assert page.status_code == 200, page.text
    assert [i["action"] for i in page.json()["items"]] == ["case.create", "case.read"]
    assert page.json()["items"][1]["user_id"] == intake.ids["officer"]
    # The dpo's read of the trail is itself on it, naming the case it was about.
    last = intake.records()[-1]
    assert (last.action, str(last.user_id), last.case_reference) == (
        "audit.read",
        intake.ids["dpo"],
        case["reference"],
    )
    by_officer = intake.call(
        "coordinator", "GET", "/api/v1/audit", params={"user_id": intake.ids["officer"]}
    ).json()
    assert {i["user_id"] for i in by_officer["items"]} == {intake.ids["officer"]}
    assert by_officer["total"] == 2
    paged = intake.call("dpo", "GET", "/api/v1/audit", params={"per_page": 3, "page": 2}).json()
    assert [i["seq"] for i in paged["items"]] == [4, 5, 6]
    bad = intake.call("dpo", "GET", "/api/v1/audit", params={"user_id": "nobody"})
    assert bad.status_code == 422
    assert "user_id" in bad.text


def _several(intake: Intake) -> int:
    case = intake.record_case()
    for _ in range(3):
        assert intake.call("officer", "GET", f"/api/v1/cases/{case['id']}").status_code == 200
    verdict = intake.verify()
    assert verdict["intact"] is True
    assert verdict["records"] == len(intake.records()) - 1  # the verify itself came after
    return int(verdict["records"])


def test_an_altered_record_breaks_the_chain_at_that_record(intake: Intake) -> None:
    _several(intake)
    intake.sql("UPDATE audit_record SET client = '10.9.9.9' WHERE seq = 6")
    verdict = intake.verify()
    assert (verdict["intact"], verdict["broken_at"], verdict["reason"]) == (False, 6, "altered")
    assert verdict["records"] == 5


def test_a_record_rewritten_with_its_hash_recomputed_breaks_at_the_next(intake: Intake) -> None:
    _several(intake)
    row = intake.records()[5]
    forged = AuditRecord(**{**row._mapping, "role": "coordinator"})
    intake.sql(
        "UPDATE audit_record SET role = 'coordinator', hash = :hash WHERE seq = 6",
        hash=audit.record_hash(forged),
    )
    verdict = intake.verify()
    assert (verdict["broken_at"], verdict["reason"]) == (7, "reordered")


def test_a_deleted_middle_record_breaks_the_chain_at_the_next(intake: Intake) -> None:
    _several(intake)
    intake.sql("DELETE FROM audit_record WHERE seq = 6")
    verdict = intake.verify()
    assert (verdict["intact"], verdict["broken_at"], verdict["reason"]) == (False, 7, "missing")
    assert "6..6" in verdict["detail"]


def test_a_deleted_last_record_is_noticed_by_the_head(intake: Intake) -> None:
    _several(intake)
    (last,) = intake.sql("SELECT max(seq) FROM audit_record")
    intake.sql("DELETE FROM audit_record WHERE seq = :seq", seq=last[0])
    verdict = intake.verify()
    assert (verdict["intact"], verdict["broken_at"], verdict["reason"]) == (
        False,
        last[0],
        "missing",
    )


def test_a_read_that_cannot_be_recorded_is_refused_and_so_is_a_write(intake: Intake) -> None:
    case = intake.record_case()
    intake.sql("DELETE FROM audit_head")
    before = len(intake.records())
    read = intake.call("officer", "GET", f"/api/v1/cases/{case['id']}")
    assert read.status_code == 503, read.text
    assert read.json()["detail"][0]["code"] == "audit_unavailable"
    assert VICTIM_NAME not in read.text
    url = f"/api/v1/cases/{case['id']}"
    patched = intake.call("officer", "PATCH", url, json={"risk_level": "high"})
    assert patched.status_code == 503
    assert len(intake.records()) == before
    (risk,) = intake.sql("SELECT risk_level FROM case_record")
    assert risk[0] == "medium"
    assert intake.verify()["reason"] == "missing"


def test_two_replicas_reading_at_once_keep_one_linear_chain(
    intake: Intake, database_url: str, nats_url: str, tmp_path: Path
) -> None:
    case = intake.record_case()
    url = f"/api/v1/cases/{case['id']}"
    headers = {"Authorization": f"Bearer {intake.tokens['officer']}"}
    before = len(intake.records())
    with replica(database_url, nats_url, tmp_path / "second") as second:

        def reads(client: TestClient) -> list[int]:
            return [client.get(url, headers=headers).status_code for _ in range(10)]

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(reads, [intake.client, second] * 3))
    assert {code for batch in answers for code in batch} == {200}
    rows = intake.records()
    assert len(rows) == before + 60
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    verdict = intake.verify()
    assert (verdict["intact"], verdict["records"]) == (True, len(rows))
