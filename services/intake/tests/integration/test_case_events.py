"""A recorded case reaches NATS once, as a valid CloudEvent; referral statuses come back."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.contract import envelope
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import CaseCreated, ReferralStatusChanged
from jejaring.testing import sample_events, until

ADMIN = "admin-token-for-tests-0123456789"
BODY: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical"],
    "risk_level": "high",
    "reporter": {"kind": "neighbour"},
    "victims": [{"name": "Siti Rahmawati", "sex": "female", "age": 34}],
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


def officer(client: TestClient) -> dict[str, str]:
    r = client.post(
        "/api/v1/users",
        json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": "64.71.04.1003"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _stream_messages(url: str, subject: str) -> list[Any]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable=None, stream="CASES")
        try:
            return list(await sub.fetch(100, timeout=2))
        except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
            return []
    finally:
        await nc.close()


def test_a_created_case_appears_once_on_the_wire(client: TestClient, nats_url: str) -> None:
    who = officer(client)
    created = client.post("/api/v1/cases", json=BODY, headers=who).json()

    messages = until(lambda: client.portal.call(_stream_messages, nats_url, "case.v1.created"))  # type: ignore[union-attr]
    time.sleep(0.5)  # anything published twice would be there by now
    messages = client.portal.call(_stream_messages, nats_url, "case.v1.created")  # type: ignore[union-attr]
    assert len(messages) == 1
    msg = messages[0]
    parsed = envelope.decode(msg.headers, msg.data)
    assert isinstance(parsed.data, CaseCreated)
    assert parsed.data.case_id == uuid.UUID(created["id"])
    assert parsed.data.reference == created["reference"]
    assert parsed.source == "/jejaring/intake"
    assert msg.headers["Nats-Msg-Id"] == msg.headers["ce-id"]
    assert msg.headers["ce-subject"] == created["id"]
    assert msg.headers["ce-correlationid"] == created["id"]
    assert "Siti" not in " ".join(msg.headers.values())
    assert parsed.data.officer.name == "Ibu Wulan"


def test_referral_statuses_show_on_the_case(client: TestClient, nats_url: str) -> None:
    who = officer(client)
    created = client.post("/api/v1/cases", json=BODY, headers=who).json()
    base = next(e for e in sample_events() if isinstance(e, ReferralStatusChanged))
    accepted = base.model_copy(
        update={
            "case_id": uuid.UUID(created["id"]),
            "case_reference": created["reference"],
            "status": ReferralStatus.ACCEPTED,
            "sequence": 2,
        }
    )

    async def publish() -> None:
        nc = await nats.connect(nats_url)
        message = envelope.encode(accepted, source="/jejaring/referral")
        await nc.jetstream().publish(message.subject, message.body, headers=message.headers)
        await nc.close()

    client.portal.call(publish)  # type: ignore[union-attr]
    url = f"/api/v1/cases/{created['id']}"
    referrals = until(lambda: client.get(url, headers=who).json()["referrals"])
    assert [(r["partner_slug"], r["service"], r["status"]) for r in referrals] == [
        ("posbakum-aisyiyah", "legal_aid", "accepted")
    ]


def test_a_retried_post_with_its_idempotency_key_records_the_case_once(
    client: TestClient, nats_url: str
) -> None:
    who = officer(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    # The officer's phone lost the answer and sent the same case again, several times at once.
    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(lambda _: client.post("/api/v1/cases", json=BODY, headers=who | key), range(5))
        )

    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert len({a.headers["Location"] for a in answers}) == 1
    assert len({a.json()["reference"] for a in answers}) == 1
    assert client.get("/api/v1/cases", headers=who).json()["total"] == 1
    until(lambda: client.portal.call(_stream_messages, nats_url, "case.v1.created"))  # type: ignore[union-attr]
    time.sleep(0.5)
    assert len(client.portal.call(_stream_messages, nats_url, "case.v1.created")) == 1  # type: ignore[union-attr]

    other = client.post("/api/v1/cases", json=BODY | {"risk_level": "low"}, headers=who | key)
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["detail"]] == ["Idempotency-Key"]
    assert client.get("/api/v1/cases", headers=who).json()["total"] == 1

    bad = client.post("/api/v1/cases", json=BODY, headers=who | {"Idempotency-Key": "a b"})
    assert bad.status_code == 422
    assert "idempotency-key" in bad.json()["detail"][0]["field"].lower()
