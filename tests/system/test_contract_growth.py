"""The contract can grow: events from a newer v1 producer (a field this version does not know,
a type it does not know) flow through every running service without a DLQ entry (the
invariants: conftest.py here)."""

from __future__ import annotations

import asyncio
import json
import time

import nats

from jejaring.shared.contract import subjects
from jejaring.shared.contract.events import CaseCreated, CaseUpdated

UNKNOWN = {  # a subject each service's consumer reads, and a type no service knows yet
    "case.v1.reopened": "org.jejaring.case.reopened.v1",
    "referral.v1.event.reopened": "org.jejaring.referral.reopened.v1",
}


async def publish_as_a_newer_producer(system) -> str:  # type: ignore[no-untyped-def]
    """case.v1.updated of the posted case with fields added in a later v1, and one event of an
    unknown type on the CASES and REFERRAL_EVENTS streams; the case id."""
    (created,) = [
        m
        for m in await system._stream(subjects.CASES_STREAM)
        if m.headers["ce-type"] == CaseCreated.ce_type
    ]
    data = json.loads(created.data) | {"version": 2, "changed": [], "reopen_count": 0}
    data["victims"][0]["nickname"] = "Tia"
    nc = await nats.connect(system.nats.url)
    try:
        js = nc.jetstream()
        messages = [
            (subjects.CASE_UPDATED, CaseUpdated.ce_type, data),
            *[(s, t, {}) for s, t in UNKNOWN.items()],
        ]
        for n, (subject, ce_type, body) in enumerate(messages):
            ce_id = f"newer-producer-{n}"
            headers = {
                "ce-specversion": "1.0",
                "ce-id": ce_id,
                "ce-source": "/jejaring/intake-v1.1",
                "ce-type": ce_type,
                "ce-datacontenttype": "application/json",
                "Nats-Msg-Id": ce_id,
            }
            await js.publish(subject, json.dumps(body).encode(), headers=headers)
    finally:
        await nc.close()
    return str(data["case_id"])


async def everything_consumed(system) -> bool:  # type: ignore[no-untyped-def]
    nc = await nats.connect(system.nats.url)
    try:
        js = nc.jetstream()
        for stream in (subjects.CASES_STREAM, subjects.REFERRAL_EVENTS_STREAM):
            for info in await js.consumers_info(stream):
                if info.num_pending or info.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()


def test_a_newer_producers_events_flow_through_every_service_without_a_dlq_entry(system) -> None:
    system.post_cases(1)
    system.converge()
    case_id = asyncio.run(publish_as_a_newer_producer(system))
    deadline = time.monotonic() + 60
    while not asyncio.run(everything_consumed(system)):
        assert time.monotonic() < deadline, "the newer producer's events were not all consumed"
        time.sleep(0.5)

    assert system.converge(expected_dlq=0).cases == 1
    (state,) = asyncio.run(system._rows("referral", "SELECT case_id, version FROM case_state"))
    assert str(state.case_id).replace("-", "") == case_id.replace("-", "")
    assert state.version == 2, "the update with fields added in a later v1 was applied"
    for service, ce_type in (
        ("referral", UNKNOWN["case.v1.reopened"]),
        ("intake", UNKNOWN["referral.v1.event.reopened"]),
        ("notify", UNKNOWN["referral.v1.event.reopened"]),
    ):
        lines = [
            json.loads(line)
            for line in (system.tmp / f"{service}.log").read_text().splitlines()
            if line.startswith("{")
        ]
        assert any(line.get("ce_type") == ce_type and line["level"] == "info" for line in lines), (
            f"{service} did not ack and count {ce_type}"
        )
