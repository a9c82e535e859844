"""The survivor's feedback through the whole system, as real processes on a nats-server with the
generated users and permissions (notify may ask intake for a case's key): cases closed in
intake, one SMS to the one survivor who may be contacted (to the real HTTP SMS gateway
stand-in), her reply posted back by the gateway and counted once, her phone in no row of
notify's database, and her score under the partner that helped, on the coordinator's summary."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import inspect

from jejaring.shared import db
from jejaring.shared.web.identity import Person, PersonRole, issue
from jejaring.testing import THREE_WAY_CASE, VICTIM_NAME, until
from jejaring.testing.http_peer import HttpPeer, SmsGateway

from .conftest import ADMIN_TOKENS, IDENTITY_KEY, System

PHONE = "081377770001"
NOT_SAFE = "081377770002"  # a victim not safe to contact
INBOUND = "sms-inbound-token-for-system-tests-0001"
HELPER = "posbakum-aisyiyah"


@pytest.fixture
def gateway() -> Iterator[tuple[SmsGateway, HttpPeer]]:
    gw = SmsGateway()
    with HttpPeer(gw.answer) as peer:
        yield gw, peer


@pytest.fixture
def feedback_system(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    gateway: tuple[SmsGateway, HttpPeer],
) -> System:
    _, peer = gateway
    # Quiet hours that never hold during the test, whatever the hour it runs at (the deferral
    # itself is notify's integration test, on a clock it controls).
    now = dt.datetime.now(ZoneInfo("Asia/Makassar"))
    for name, value in {
        "NOTIFY_SMS_CHANNEL": "gateway",
        "NOTIFY_SMS_GATEWAY_URL": f"{peer.url}/send",
        "NOTIFY_SMS_INBOUND_TOKEN": INBOUND,
        "NOTIFY_FEEDBACK_QUIET_START": f"{(now + dt.timedelta(hours=3)):%H}:00",
        "NOTIFY_FEEDBACK_QUIET_END": f"{(now + dt.timedelta(hours=4)):%H}:00",
    }.items():
        monkeypatch.setenv(name, value)
    system: System = request.getfixturevalue("secured_system")
    return system


def close_a_case(s: System, victim: dict[str, Any], *, accepted: bool) -> dict[str, Any]:
    """A case recorded for `victim`, legal aid's referral accepted by the partner (over
    referral's HTTP API) if `accepted`, then closed."""
    body = THREE_WAY_CASE | {"victims": [victim]}
    r = httpx.post(f"{s.url('intake')}/api/v1/cases", json=body, headers=s.officer, timeout=10)
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    url = f"{s.url('intake')}/api/v1/cases/{case['id']}"

    def referrals() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = httpx.get(url, headers=s.officer).json()["referrals"]
        return found

    until(lambda: len(referrals()) == 3, timeout=60)
    if accepted:
        admin = {"Authorization": f"Bearer {ADMIN_TOKENS['referral']}"}
        referral = s.url("referral")
        token = httpx.post(f"{referral}/api/v1/partners/{HELPER}/token", headers=admin).json()
        (held,) = [
            x
            for x in httpx.get(f"{referral}/api/v1/partners/{HELPER}/referrals", headers=admin)
            .raise_for_status()
            .json()
            if x["case_reference"] == case["reference"]
        ]
        answered = httpx.post(
            f"{referral}/api/v1/referrals/{held['id']}/status",
            json={"status": "accepted"},
            headers={"Authorization": f"Bearer {token['token']}"},
        )
        assert answered.status_code == 200, answered.text
        until(lambda: any(x["status"] == "accepted" for x in referrals()), timeout=30)
    closed = httpx.post(f"{url}/close", json={"outcome": "resolved"}, headers=s.officer)
    assert closed.status_code == 200, closed.text
    return case


async def _rows_holding(url: str, needle: str) -> list[str]:
    """Every table and column of the database at `url` holding `needle` in some row."""
    engine = db.create_engine(url)
    found = []
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            for table in tables:
                result = await conn.exec_driver_sql(f'SELECT * FROM "{table}"')
                for row in result.all():
                    for column, value in row._mapping.items():
                        if value is not None and needle in str(value):
                            found.append(f"{table}.{column}")
    finally:
        await engine.dispose()
    return found


def sqlite_files(url: str) -> list[Path]:
    if not url.startswith("sqlite"):
        return []
    path = Path(url.split(":///", 1)[1])
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def test_one_feedback_sms_to_the_survivor_who_may_be_asked_and_her_reply_counted_once(
    feedback_system: System, gateway: tuple[SmsGateway, HttpPeer]
) -> None:
    s, (gw, peer) = feedback_system, gateway
    adult = {"name": VICTIM_NAME, "sex": "female", "age": 34}
    # not safe to contact, then no phone: nobody is asked; then the one who may be asked
    close_a_case(s, adult | {"phone": NOT_SAFE}, accepted=True)
    close_a_case(s, adult | {"safe_to_contact": True}, accepted=True)
    case = close_a_case(s, adult | {"phone": PHONE, "safe_to_contact": True}, accepted=True)

    # The partners' and the officer's alerts go through the same gateway: hers is the one that
    # asks for a reply.
    def asking() -> list[dict[str, Any]]:
        return [m for m in gw.sent if "Balas SMS ini" in m["message"]]

    (sms,) = until(asking, timeout=60)
    assert sms["to"] == PHONE
    text = sms["message"]
    assert "1" in text and "5" in text
    for secret in (case["reference"], "BPT-", VICTIM_NAME, "Siti", "kekerasan", "fisik", HELPER):
        assert secret.lower() not in text.lower(), secret
    with pytest.raises(AssertionError):  # nothing else is asked: not in the other two cases
        until(lambda: len(asking()) > 1, timeout=3)
    assert [m for m in gw.sent if m["to"] in (PHONE, NOT_SAFE)] == [sms]

    inbound = f"{s.url('notify')}/api/v1/sms/inbound"
    token = {"Authorization": f"Bearer {INBOUND}"}
    assert peer.call(inbound, {"from": "+62 813-7777-0001", "message": " 4 "}, headers=token) == (
        200,
        {"recorded": True},
    )
    assert peer.call(inbound, {"from": PHONE, "message": "5"}, headers=token) == (
        200,
        {"recorded": False},
    ), "a second reply is not counted again"
    assert peer.call(inbound, {"from": PHONE, "message": "4"})[0] == 401

    coordinator = Person(uuid.uuid4(), "Koordinator", PersonRole.COORDINATOR, None, None)
    bearer = issue(coordinator, secret=IDENTITY_KEY, now=dt.datetime.now(dt.UTC))
    summary = httpx.get(
        f"{s.url('notify')}/api/v1/feedback/summary",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert summary.status_code == 200, summary.text
    assert summary.json() == [{"partner_slug": HELPER, "count": 1, "mean": 4.0}]

    # Her phone is in no row of notify's database, in any form it was written in.
    url = s.dbs["notify"]
    for form in (PHONE, "6281377770001", "81377770001"):
        assert asyncio.run(_rows_holding(url, form)) == [], form
    assert asyncio.run(_rows_holding(url, HELPER)), "the scan reads the rows (control)"
    files = sqlite_files(url)
    for file in files:
        assert b"81377770001" not in file.read_bytes(), file
    if files:
        assert any(HELPER.encode() in f.read_bytes() for f in files), "the bytes scan (control)"
