"""People's access tokens at referral: partner staff answer their partner's referrals over
HTTP with the token intake gave them, and the answer records who gave it; other people may do
here only what their role allows (real intake and referral apps, a real nats-server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app as create_intake
from jejaring.intake.settings import IntakeSettings
from jejaring.referral.app import create_app as create_referral
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.contract import envelope, subjects
from jejaring.shared.contract.enums import AnswerReason, ReferralStatus
from jejaring.shared.contract.events import PartnerReplied, ReferralStatusChanged
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.testing import THREE_WAY_CASE, ShiftedClock, until

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}
KEY = "identity-key-for-tests-0123456789abcdef"
WITA = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "kata-sandi-yang-panjang"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Loop:
    intake: TestClient
    referral: TestClient
    nats_url: str
    clock: ShiftedClock

    def person(self, name: str, role: str, **fields: Any) -> dict[str, Any]:
        """A person the admin creates, who sets a password and signs in: the sign-in answer."""
        login = f"user-{uuid.uuid4().hex[:8]}"
        created = self.intake.post(
            "/api/v1/users",
            json={"name": name, "role": role, "login": login, **fields},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        setup = {"login": login, "code": created.json()["setup_code"], "password": PASSWORD}
        assert self.intake.post("/api/v1/auth/setup", json=setup).status_code == 204
        signed = self.intake.post(
            "/api/v1/auth/sign-in", json={"login": login, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        return dict(signed.json())

    def status_events(self) -> list[ReferralStatusChanged]:
        async def fetch() -> list[ReferralStatusChanged]:
            nc = await nats.connect(self.nats_url)
            try:
                sub = await nc.jetstream().pull_subscribe(
                    subjects.REFERRAL_EVENTS_ALL,
                    durable=None,
                    stream=subjects.REFERRAL_EVENTS_STREAM,
                )
                try:
                    messages = await sub.fetch(100, timeout=1)
                except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
                    return []
                events = [envelope.decode(m.headers, m.data).data for m in messages]
                return [e for e in events if isinstance(e, ReferralStatusChanged)]
            finally:
                await nc.close()

        return asyncio.run(fetch())


@pytest.fixture
def loop(service_dbs: dict[str, str], nats_url: str, tmp_path: Path) -> Iterator[Loop]:
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))
    common = {
        "nats_url": nats_url,
        "data_dir": tmp_path,
        "admin_token": "admin-token-for-tests-0123456789",
    }
    intake = create_intake(
        IntakeSettings(**common, database_url=service_dbs["intake"], identity_key=KEY),
        clock=clock,
    )
    # Referral holds only the public key: it verifies intake's tokens and can sign none.
    referral = create_referral(
        ReferralSettings(
            **common, database_url=service_dbs["referral"], identity_public_key=public_key_of(KEY)
        ),
        clock=clock,
    )
    with TestClient(intake) as i, TestClient(referral) as r:
        until(lambda: i.get("/readyz").status_code == 200 and r.get("/readyz").status_code == 200)
        yield Loop(i, r, nats_url, clock)


def test_partner_staff_answer_for_their_partner_and_the_answer_names_them(loop: Loop) -> None:
    officer = loop.person("Ibu Wulan", "officer", kelurahan_code="64.71.04.1003")
    case = loop.intake.post(
        "/api/v1/cases", json=THREE_WAY_CASE, headers=bearer(officer["access_token"])
    )
    assert case.status_code == 201, case.text
    paralegal = bearer(
        loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")[
            "access_token"
        ]
    )
    counsellor = bearer(
        loop.person("Konselor Mentari", "partner_staff", partner_slug="bikksa-mentari")[
            "access_token"
        ]
    )
    (held,) = until(
        lambda: loop.referral.get(
            "/api/v1/partners/posbakum-aisyiyah/referrals", headers=paralegal
        ).json()
    )
    assert held["case_reference"] == case.json()["reference"]
    assert held["answered_by"] is None
    assert held["allowed_answers"] == ["accepted", "rejected"]

    # Another partner's referrals: not to be seen, not to be answered.
    other = loop.referral.get("/api/v1/partners/bikksa-mentari/referrals", headers=paralegal)
    assert other.status_code == 403
    url = f"/api/v1/referrals/{held['id']}/status"
    foreign = loop.referral.post(url, json={"status": "accepted"}, headers=counsellor)
    assert foreign.status_code == 404

    answered = loop.referral.post(url, json={"status": "accepted"}, headers=paralegal)
    assert answered.status_code == 200, answered.text
    assert (answered.json()["status"], answered.json()["answered_by"]) == (
        "accepted",
        "Paralegal Aisyiyah",
    )
    assert answered.json()["allowed_answers"] == ["in-progress", "on-hold", "completed", "failed"]
    listed = loop.referral.get("/api/v1/partners/posbakum-aisyiyah/referrals", headers=ADMIN)
    assert listed.json()[0]["answered_by"] == "Paralegal Aisyiyah"
    accepted = until(lambda: [e for e in loop.status_events() if e.status == "accepted"])
    assert [(e.referral_id, e.by) for e in accepted] == [
        (uuid.UUID(held["id"]), "Paralegal Aisyiyah")
    ]
    # Intake sees the answer, as for any partner's.
    case_url = f"/api/v1/cases/{case.json()['id']}"
    until(
        lambda: any(
            r["status"] == "accepted"
            for r in loop.intake.get(case_url, headers=bearer(officer["access_token"])).json()[
                "referrals"
            ]
        )
    )


def test_a_reason_code_is_checked_kept_and_published_over_http_and_nats(loop: Loop) -> None:
    """A code without a text: its Indonesian label is the reason (a rejection needs one); an
    unknown code is a 422 naming `reason_code`; a partner's NATS reply carries one too."""
    officer = loop.person("Ibu Wulan", "officer", kelurahan_code="64.71.04.1003")
    case = loop.intake.post(
        "/api/v1/cases", json=THREE_WAY_CASE, headers=bearer(officer["access_token"])
    )
    assert case.status_code == 201, case.text
    paralegal = bearer(
        loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")[
            "access_token"
        ]
    )
    (held,) = until(
        lambda: loop.referral.get(
            "/api/v1/partners/posbakum-aisyiyah/referrals", headers=paralegal
        ).json()
    )
    url = f"/api/v1/referrals/{held['id']}/status"
    unknown = loop.referral.post(
        url, json={"status": "rejected", "reason_code": "too_busy"}, headers=paralegal
    )
    assert unknown.status_code == 422, unknown.text
    assert [e["field"] for e in unknown.json()["detail"]] == ["reason_code"]
    rejected = loop.referral.post(
        url, json={"status": "rejected", "reason_code": "no_capacity"}, headers=paralegal
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["reason"], rejected.json()["reason_code"]) == (
        "Kapasitas penuh",
        "no_capacity",
    )

    (counselling,) = until(
        lambda: loop.referral.get("/api/v1/partners/bikksa-mentari/referrals", headers=ADMIN).json()
    )

    async def reject_over_nats() -> None:
        nc = await nats.connect(loop.nats_url)
        reply = PartnerReplied(
            referral_id=uuid.UUID(counselling["id"]),
            partner_slug="bikksa-mentari",
            status=ReferralStatus.REJECTED,
            reason="Korban tinggal di Samarinda",
            reason_code=AnswerReason.OUTSIDE_AREA,
            replied_at=loop.clock(),
        )
        m = envelope.encode(reply, source="/partners/bikksa-mentari")
        await nc.jetstream().publish(m.subject, m.body, headers=m.headers)
        await nc.close()

    asyncio.run(reject_over_nats())
    events = until(
        lambda: len(rejections := [e for e in loop.status_events() if e.status == "rejected"]) == 2
        and rejections
    )
    assert {(e.partner_slug, e.reason_code, e.reason) for e in events} == {
        ("posbakum-aisyiyah", AnswerReason.NO_CAPACITY, "Kapasitas penuh"),
        ("bikksa-mentari", AnswerReason.OUTSIDE_AREA, "Korban tinggal di Samarinda"),
    }
    (kept,) = loop.referral.get("/api/v1/partners/bikksa-mentari/referrals", headers=ADMIN).json()
    assert (kept["status"], kept["reason_code"]) == ("rejected", "outside_area")


def test_other_people_may_do_here_only_what_their_role_allows(loop: Loop) -> None:
    officer = bearer(
        loop.person("Ibu Wulan", "officer", kelurahan_code="64.71.04.1003")["access_token"]
    )
    coordinator = bearer(loop.person("Kasi Kesos", "coordinator")["access_token"])
    admin = bearer(loop.person("Admin Kecamatan", "admin")["access_token"])
    answer = "/api/v1/referrals/00000000-0000-0000-0000-000000000001/status"
    for who in (officer, coordinator):
        assert loop.referral.get("/api/v1/partners", headers=who).status_code == 403
        held = loop.referral.get("/api/v1/partners/posbakum-aisyiyah/referrals", headers=who)
        assert held.status_code == 403
        assert loop.referral.post(answer, json={"status": "accepted"}, headers=who).status_code == (
            403
        )
    assert loop.referral.get("/api/v1/partners", headers=admin).status_code == 200
    held = loop.referral.get("/api/v1/partners/posbakum-aisyiyah/referrals", headers=admin)
    assert held.status_code == 200
    assert loop.referral.post(answer, json={"status": "accepted"}, headers=admin).status_code == 403


def test_an_expired_or_foreign_person_token_is_401(loop: Loop) -> None:
    signed = loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")
    url = "/api/v1/partners/posbakum-aisyiyah/referrals"
    assert loop.referral.get(url, headers=bearer(signed["access_token"])).status_code == 200
    person = Person(
        uuid.UUID(signed["person"]["id"]),
        "Paralegal Aisyiyah",
        PersonRole.PARTNER_STAFF,
        partner_slug="posbakum-aisyiyah",
    )
    forged = issue(person, secret="another-key-0123456789abcdefghijklmn", now=loop.clock())
    assert loop.referral.get(url, headers=bearer(forged)).status_code == 401
    loop.clock.set(loop.clock() + dt.timedelta(minutes=5))
    expired = loop.referral.get(url, headers=bearer(signed["access_token"]))
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def held_referral(loop: Loop, slug: str, staff: dict[str, str]) -> dict[str, Any]:
    """A case recorded by an officer, and the referral it makes to `slug`, as its staff see it."""
    officer = loop.person("Ibu Wulan", "officer", kelurahan_code="64.71.04.1003")
    case = loop.intake.post(
        "/api/v1/cases", json=THREE_WAY_CASE, headers=bearer(officer["access_token"])
    )
    assert case.status_code == 201, case.text
    (held,) = until(
        lambda: loop.referral.get(f"/api/v1/partners/{slug}/referrals", headers=staff).json()
    )
    return dict(held)


def test_a_deactivated_person_loses_access_here_within_a_minute(loop: Loop) -> None:
    """Referral never asks intake: a deactivated person's access token works here until it
    expires, 50 s after its issue at most, and not a second longer (the service's clock)."""
    signed = loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")
    issued_at = loop.clock()
    staff = bearer(signed["access_token"])
    url = "/api/v1/partners/posbakum-aisyiyah/referrals"
    off = loop.intake.post(f"/api/v1/users/{signed['person']['id']}/deactivate", headers=ADMIN)
    assert off.status_code == 200
    assert loop.intake.get("/api/v1/cases", headers=staff).status_code == 401, "intake: at once"
    loop.clock.set(issued_at + dt.timedelta(seconds=48))
    assert loop.referral.get(url, headers=staff).status_code == 200
    loop.clock.set(issued_at + dt.timedelta(seconds=50))
    refused = loop.referral.get(url, headers=staff)
    assert refused.status_code == 401
    assert refused.json()["detail"][0]["field"] == "authorization"


def test_a_deactivated_partners_token_and_staff_are_refused_at_once(loop: Loop) -> None:
    issued = loop.referral.post("/api/v1/partners/posbakum-aisyiyah/token", headers=ADMIN)
    assert issued.status_code == 200, issued.text
    system = bearer(issued.json()["token"])
    staff = bearer(
        loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")[
            "access_token"
        ]
    )
    url = "/api/v1/partners/posbakum-aisyiyah/referrals"
    assert loop.referral.get(url, headers=system).status_code == 200
    assert loop.referral.get(url, headers=staff).status_code == 200
    off = loop.referral.post("/api/v1/partners/posbakum-aisyiyah/deactivate", headers=ADMIN)
    assert off.json()["active"] is False
    for who in (system, staff):
        refused = loop.referral.get(url, headers=who)
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"] == "Bearer"
    # Another partner is not touched.
    other = bearer(
        loop.referral.post("/api/v1/partners/bikksa-mentari/token", headers=ADMIN).json()["token"]
    )
    assert loop.referral.get(
        "/api/v1/partners/bikksa-mentari/referrals", headers=other
    ).status_code == (200)


def test_a_rotated_partner_token_keeps_working_for_the_grace_unless_revoked(loop: Loop) -> None:
    url = "/api/v1/partners/posbakum-aisyiyah/referrals"
    token_url = "/api/v1/partners/posbakum-aisyiyah/token"
    first = loop.referral.post(token_url, headers=ADMIN).json()
    assert first["previous_valid_until"] is None, "no token before"
    rotated_at = loop.clock()
    second = loop.referral.post(token_url, headers=ADMIN).json()
    until_ = dt.datetime.fromisoformat(second["previous_valid_until"])
    assert abs(until_ - (rotated_at + dt.timedelta(hours=24))) < dt.timedelta(seconds=30)
    old, new = bearer(first["token"]), bearer(second["token"])
    # Both work while the partner's system switches over...
    assert loop.referral.get(url, headers=old).status_code == 200
    assert loop.referral.get(url, headers=new).status_code == 200
    loop.clock.set(rotated_at + dt.timedelta(hours=23, minutes=59))
    assert loop.referral.get(url, headers=old).status_code == 200
    # ...and the old one stops when the grace is over, saying why.
    loop.clock.set(rotated_at + dt.timedelta(hours=24, seconds=1))
    expired = loop.referral.get(url, headers=old)
    assert expired.status_code == 401
    (error,) = expired.json()["detail"]
    assert (error["field"], error["code"]) == ("authorization", "token_expired")
    assert "kedaluwarsa" in error["message"] and "expired" in error["message_en"]
    assert loop.referral.get(url, headers=new).status_code == 200

    # A leaked token: rotated with --revoke-old, it stops at once.
    third = loop.referral.post(token_url, json={"revoke_old": True}, headers=ADMIN).json()
    assert third["previous_valid_until"] is None
    assert loop.referral.get(url, headers=new).status_code == 401
    assert loop.referral.get(url, headers=bearer(third["token"])).status_code == 200
    # Only one previous token is kept: two rotations end the first at once.
    fourth = loop.referral.post(token_url, headers=ADMIN).json()
    loop.referral.post(token_url, headers=ADMIN)
    assert loop.referral.get(url, headers=bearer(third["token"])).status_code == 401
    assert loop.referral.get(url, headers=bearer(fourth["token"])).status_code == 200


def test_a_reason_too_long_for_the_event_is_422_and_changes_nothing(loop: Loop) -> None:
    """A reason of 201-300 characters used to pass the schema, then break the status event
    (a 500). Now it is refused, naming the field; the referral and the stream are untouched."""
    staff = bearer(
        loop.person("Paralegal Aisyiyah", "partner_staff", partner_slug="posbakum-aisyiyah")[
            "access_token"
        ]
    )
    held = held_referral(loop, "posbakum-aisyiyah", staff)
    url = f"/api/v1/referrals/{held['id']}/status"
    for length in (201, 250, 300):
        refused = loop.referral.post(
            url, json={"status": "rejected", "reason": "x" * length}, headers=staff
        )
        assert refused.status_code == 422, (length, refused.text)
        (error,) = refused.json()["detail"]
        assert (error["field"], error["code"]) == ("reason", "string_too_long")
        assert "200" in error["message_en"]
    after = loop.referral.get("/api/v1/partners/posbakum-aisyiyah/referrals", headers=staff)
    assert after.json()[0]["status"] == "requested"
    assert not [e for e in loop.status_events() if e.status == "rejected"]
    taken = loop.referral.post(url, json={"status": "rejected", "reason": "x" * 200}, headers=staff)
    assert taken.status_code == 200, taken.text
