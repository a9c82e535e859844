"""The closed loop on a real nats-server: intake records, referral routes onto each partner's
own stream, partners answer over NATS or HTTP, intake sees the answer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
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
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import PartnerReplied, ReferralRequested
from jejaring.testing import until

ADMIN = "admin-token-for-tests-0123456789"
CASE: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical", "psychological"],
    "risk_level": "medium",
    "reporter": {"kind": "neighbour"},
    "victims": [
        {
            "name": "Siti Rahmawati",
            "sex": "female",
            "age": 34,
            "safe_to_contact": True,
            "phone": "081200000000",
        }
    ],
    "perpetrator": {"relationship": "spouse", "sex": "male"},
    "needs": ["law_enforcement", "legal_aid", "counselling"],
    "consent": {
        "given_by": "victim",
        "scope": ["police", "legal_aid", "counselling", "government"],
    },
    "legal_aid_proof": {"kind": "sktm", "number": "SKTM/7"},
}
ADMIN_H = {"Authorization": f"Bearer {ADMIN}"}


@dataclass
class Loop:
    intake: TestClient
    referral: TestClient
    nats_url: str
    officer: dict[str, str]

    def call(self, fn, *args: Any) -> Any:  # type: ignore[no-untyped-def]
        return asyncio.run(fn(*args))

    def stream_messages(self, slug: str) -> list[Any]:
        async def fetch() -> list[Any]:
            nc = await nats.connect(self.nats_url)
            try:
                js = nc.jetstream()
                sub = await js.pull_subscribe(
                    subjects.agency_subjects(slug),
                    durable=None,
                    stream=subjects.agency_stream(slug),
                )
                try:
                    return list(await sub.fetch(50, timeout=1))
                except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
                    return []
            finally:
                await nc.close()

        return self.call(fetch)

    def new_case(self, **changes: Any) -> dict[str, Any]:
        r = self.intake.post("/api/v1/cases", json={**CASE, **changes}, headers=self.officer)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def case(self, case_id: str) -> dict[str, Any]:
        return dict(self.intake.get(f"/api/v1/cases/{case_id}", headers=self.officer).json())


@pytest.fixture
def loop(service_dbs: dict[str, str], nats_url: str, tmp_path: Path) -> Iterator[Loop]:
    common = {"nats_url": nats_url, "data_dir": tmp_path, "admin_token": ADMIN}
    intake = create_intake(IntakeSettings(**common, database_url=service_dbs["intake"]))
    referral = create_referral(ReferralSettings(**common, database_url=service_dbs["referral"]))
    with TestClient(intake) as i, TestClient(referral) as r:
        until(lambda: i.get("/readyz").status_code == 200 and r.get("/readyz").status_code == 200)
        user = i.post(
            "/api/v1/users",
            json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": "64.71.04.1003"},
            headers=ADMIN_H,
        ).json()
        yield Loop(i, r, nats_url, {"Authorization": f"Bearer {user['token']}"})


def test_three_needs_become_three_referrals_on_three_partner_streams(loop: Loop) -> None:
    created = loop.new_case()
    started = time.monotonic()
    for slug in ("polresta-ppa", "posbakum-aisyiyah", "bikksa-mentari"):
        until(lambda s=slug: loop.stream_messages(s))
    took = time.monotonic() - started
    time.sleep(0.5)
    on_streams = {
        slug: loop.stream_messages(slug)
        for slug in ("polresta-ppa", "posbakum-aisyiyah", "bikksa-mentari", "babinsa-bpp-tengah")
    }
    assert {slug: len(msgs) for slug, msgs in on_streams.items()} == {
        "polresta-ppa": 1,
        "posbakum-aisyiyah": 1,
        "bikksa-mentari": 1,
        "babinsa-bpp-tengah": 0,
    }
    for slug, msgs in on_streams.items():
        for msg in msgs:
            parsed = envelope.decode(msg.headers, msg.data)
            assert isinstance(parsed.data, ReferralRequested)
            assert parsed.data.partner_slug == slug
            assert parsed.data.case_reference == created["reference"]
    print(f"case to three partner streams in {took:.2f} s")
    referrals = until(
        lambda: len(loop.case(created["id"])["referrals"]) == 3
        and loop.case(created["id"])["referrals"]
    )
    assert {r["status"] for r in referrals} == {"requested"}


def test_acceptance_over_nats_and_over_http_reaches_intake(loop: Loop) -> None:
    created = loop.new_case()
    (msg,) = until(lambda: loop.stream_messages("posbakum-aisyiyah"))
    legal = envelope.decode(msg.headers, msg.data).data
    assert isinstance(legal, ReferralRequested)

    async def accept_over_nats() -> None:
        nc = await nats.connect(loop.nats_url)
        reply = PartnerReplied(
            referral_id=legal.referral_id,
            partner_slug="posbakum-aisyiyah",
            status=ReferralStatus.ACCEPTED,
            replied_at=legal.requested_at,
        )
        m = envelope.encode(reply, source="/partners/posbakum-aisyiyah")
        await nc.jetstream().publish(m.subject, m.body, headers=m.headers)
        await nc.close()

    loop.call(accept_over_nats)

    token = loop.referral.post("/api/v1/partners/bikksa-mentari/token", headers=ADMIN_H).json()[
        "token"
    ]
    bikksa = {"Authorization": f"Bearer {token}"}
    mine = loop.referral.get("/api/v1/partners/bikksa-mentari/referrals", headers=bikksa).json()
    (counselling,) = [r for r in mine if r["case_reference"] == created["reference"]]
    answered = loop.referral.post(
        f"/api/v1/referrals/{counselling['id']}/status",
        json={"status": "accepted", "note": "Konselor: Bu Ani"},
        headers=bikksa,
    )
    assert answered.status_code == 200, answered.text

    def statuses() -> dict[str, str]:
        return {r["partner_slug"]: r["status"] for r in loop.case(created["id"])["referrals"]}

    until(
        lambda: statuses()
        == {
            "posbakum-aisyiyah": "accepted",
            "bikksa-mentari": "accepted",
            "polresta-ppa": "requested",
        }
    )


def test_a_redelivered_case_event_creates_no_duplicate(loop: Loop) -> None:
    created = loop.new_case()
    until(lambda: loop.stream_messages("posbakum-aisyiyah"))

    async def replay() -> None:
        nc = await nats.connect(loop.nats_url)
        js = nc.jetstream()
        sub = await js.pull_subscribe("case.v1.created", durable=None, stream="CASES")
        (original,) = await sub.fetch(1, timeout=2)
        # Past JetStream's duplicate window: same ce-id, new Nats-Msg-Id.
        await js.publish(
            original.subject, original.data, headers={**original.headers, "Nats-Msg-Id": "replayed"}
        )
        await nc.close()

    loop.call(replay)
    time.sleep(1.5)
    assert len(loop.stream_messages("posbakum-aisyiyah")) == 1
    assert len(loop.case(created["id"])["referrals"]) == 3


def test_a_partner_added_at_run_time_receives_the_next_case(loop: Loop) -> None:
    added = loop.referral.post(
        "/api/v1/partners",
        json={
            "slug": "uptd-ppa-balikpapan",
            "name": "UPTD PPA Kota Balikpapan",
            "kind": "government",
            "services": ["shelter"],
            "contacts": [{"name": "Piket UPTD", "phone": "0542000000", "preferred_channel": "sms"}],
        },
        headers=ADMIN_H,
    )
    assert added.status_code == 201, added.text
    assert added.json()["stream"] == "AGENCY_UPTD_PPA_BALIKPAPAN"
    assert added.json()["token"]
    created = loop.new_case(needs=["shelter"])
    (msg,) = until(lambda: loop.stream_messages("uptd-ppa-balikpapan"))
    request = envelope.decode(msg.headers, msg.data).data
    assert isinstance(request, ReferralRequested)
    assert request.case_reference == created["reference"]
    assert request.service == "shelter"


def test_the_example_partner_client_accepts_and_intake_shows_it(loop: Loop) -> None:
    created = loop.new_case()
    example = Path(__file__).resolve().parents[4] / "examples" / "partner_client.py"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            str(example),
            "--nats-url",
            loop.nats_url,
            "--slug",
            "posbakum-aisyiyah",
            "--accept",
            "--count",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert created["reference"] in result.stdout
    assert "-> accepted" in result.stdout

    def legal_aid_status() -> str | None:
        refs = loop.case(created["id"])["referrals"]
        return next((r["status"] for r in refs if r["partner_slug"] == "posbakum-aisyiyah"), None)

    until(lambda: legal_aid_status() == "accepted", timeout=10)
    print(f"example client run to accepted-in-intake: {time.monotonic() - started:.2f} s")


def test_a_partner_that_answers_with_the_requests_trace_context_joins_that_trace(
    loop: Loop,
) -> None:
    created = loop.new_case()
    (msg,) = until(lambda: loop.stream_messages("posbakum-aisyiyah"))
    request = envelope.decode(msg.headers, msg.data)
    assert isinstance(request.data, ReferralRequested)
    assert request.traceparent is not None  # what the partner sees: ids and a flag
    _, trace_id, request_span, _ = request.traceparent.split("-")
    partner_span = "ab" * 8  # the partner's own span, in Jejaring's trace

    async def accept() -> None:
        nc = await nats.connect(loop.nats_url)
        reply = PartnerReplied(
            referral_id=request.data.referral_id,
            partner_slug="posbakum-aisyiyah",
            status=ReferralStatus.ACCEPTED,
            replied_at=request.data.requested_at,
        )
        m = envelope.encode(
            reply,
            source="/partners/posbakum-aisyiyah",
            trace={"traceparent": f"00-{trace_id}-{partner_span}-01"},
        )
        await nc.jetstream().publish(m.subject, m.body, headers=m.headers)
        await nc.close()

    loop.call(accept)

    async def accepted_facts() -> list[Any]:
        nc = await nats.connect(loop.nats_url)
        try:
            sub = await nc.jetstream().pull_subscribe(
                subjects.referral_event("accepted"),
                durable=None,
                stream=subjects.REFERRAL_EVENTS_STREAM,
            )
            try:
                return list(await sub.fetch(10, timeout=1))
            except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
                return []
        finally:
            await nc.close()

    (fact,) = until(lambda: loop.call(accepted_facts))
    assert envelope.decode(fact.headers, fact.data).data.case_reference == created["reference"]
    _, fact_trace, fact_span, _ = fact.headers["ce-traceparent"].split("-")
    assert fact_trace == trace_id  # the case's trace, from the officer's request on
    assert fact_span not in (partner_span, request_span)  # referral's span handling the reply
