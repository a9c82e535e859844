"""Closing a case asks its survivor for feedback only when she may be contacted: the event on
CASES, her phone sealed (opened here with the key intake's key service gives over NATS), the
partners that accepted a referral; nothing for a victim not safe to contact, without a phone,
or a child."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app
from jejaring.intake.feedback import PURPOSE
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.messaging.keys import KeyClient
from jejaring.testing import publish, sample_events, until, within

from .test_case_events import officer
from .test_crypto_shredding import on_cases

ADMIN = "admin-token-for-tests-0123456789"
PHONE = "081377770001"
ADULT: dict[str, Any] = {"name": "Siti Rahmawati", "sex": "female", "age": 34}
BODY: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical"],
    "risk_level": "medium",
    "reporter": {"kind": "neighbour"},
    "perpetrator": {"relationship": "spouse", "sex": "male"},
    "needs": ["law_enforcement", "legal_aid", "counselling"],
    "consent": {"given_by": "victim", "scope": ["police", "legal_aid", "counselling"]},
}


@pytest.fixture
def client(database_url: str, nats_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = IntakeSettings(
        database_url=database_url, nats_url=nats_url, data_dir=tmp_path, admin_token=ADMIN
    )
    with TestClient(create_app(settings)) as c:
        until(lambda: c.get("/readyz").status_code == 200)
        yield c


async def _key(url: str, case_id: uuid.UUID) -> bytes | None:
    nc = await nats.connect(url)
    try:
        return await KeyClient(nc).get(case_id)
    finally:
        await nc.close()


def closed_case(
    client: TestClient, nats_url: str, victims: list[dict[str, Any]], answers: dict[str, str]
) -> dict[str, Any]:
    """A case recorded with `victims`, its referrals answered (partner slug -> status) as
    referral's events would tell intake, then closed."""
    who = officer(client)
    child = any(v.get("age", 99) < 18 for v in victims)
    consent = BODY["consent"] | {"given_by": "guardian" if child else "victim"}
    created = client.post(
        "/api/v1/cases", json=BODY | {"victims": victims, "consent": consent}, headers=who
    )
    assert created.status_code == 201, created.text
    case = created.json()
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    for slug, status in answers.items():
        answer = base.model_copy(
            update={
                "referral_id": uuid.uuid4(),
                "case_id": uuid.UUID(case["id"]),
                "case_reference": case["reference"],
                "partner_slug": slug,
                "status": ReferralStatus(status),
                "sequence": 2,
            }
        )
        publish(nats_url, answer)
    url = f"/api/v1/cases/{case['id']}"
    until(lambda: len(client.get(url, headers=who).json()["referrals"]) == len(answers), timeout=60)
    closed = client.post(f"{url}/close", json={"outcome": "resolved"}, headers=who)
    assert closed.status_code == 200, closed.text
    return case


def requests_for(client: TestClient, nats_url: str, case: dict[str, Any]) -> list[Any]:
    """The feedback requests of `case` on CASES, once its close is there. The relay publishes
    the close transaction's events in order, the request right after the close: it is given
    2 s to follow (a stalled relay must not read as "not asked"), and none means none."""

    def of_case(subject: str) -> list[Any]:
        found = on_cases(client, nats_url, subject)
        return [e for e in found if str(getattr(e, "case_id", "")) == case["id"]]

    until(lambda: of_case("case.v1.closed"), timeout=30)
    return within(lambda: of_case("case.v1.feedback.requested"), 2, every=0.1)  # type: ignore[no-any-return]


def test_a_safe_adult_with_a_phone_is_asked_once_about_the_partners_that_helped(
    client: TestClient, nats_url: str
) -> None:
    victims = [
        ADULT | {"phone": "081300000009"},  # not safe to contact: not asked
        {"name": "Rina", "sex": "female", "age": 12, "phone": "081300000008"}
        | {"safe_to_contact": True},  # a child: never asked
        {"name": "Dewi", "sex": "female", "age": 40, "phone": PHONE, "safe_to_contact": True},
    ]
    answers = {
        "posbakum-aisyiyah": "accepted",
        "bikksa-mentari": "completed",
        "polresta-ppa": "rejected",
    }
    case = closed_case(client, nats_url, victims, answers)
    (asked,) = requests_for(client, nats_url, case)
    assert isinstance(asked, ev.CaseFeedbackRequested)
    assert asked.partner_slugs == ("bikksa-mentari", "posbakum-aisyiyah")
    assert asked.reference == case["reference"]
    assert PHONE not in asked.model_dump_json()
    key = client.portal.call(_key, nats_url, asked.case_id)  # type: ignore[union-attr]
    assert key is not None
    opened = crypto.unseal(key, asked.phone_sealed, associated=crypto.aad(asked.case_id, PURPOSE))
    assert opened.decode() == PHONE


@pytest.mark.parametrize(
    "victims",
    [
        [ADULT | {"phone": PHONE, "safe_to_contact": False}],
        [ADULT | {"safe_to_contact": True}],
        [{"name": "Rina", "sex": "female", "age": 15, "phone": PHONE, "safe_to_contact": True}],
    ],
    ids=["not-safe-to-contact", "no-phone", "a-child"],
)
def test_nobody_is_asked_who_may_not_be(
    client: TestClient, nats_url: str, victims: list[dict[str, Any]]
) -> None:
    case = closed_case(client, nats_url, victims, {"posbakum-aisyiyah": "accepted"})
    assert requests_for(client, nats_url, case) == []


def test_nobody_is_asked_when_no_partner_accepted(client: TestClient, nats_url: str) -> None:
    victims = [ADULT | {"phone": PHONE, "safe_to_contact": True}]
    case = closed_case(client, nats_url, victims, {"polresta-ppa": "rejected"})
    assert requests_for(client, nats_url, case) == []
