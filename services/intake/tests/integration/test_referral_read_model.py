"""Intake's read model of referral statuses, fed from real NATS: idempotent and order-tolerant."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from jejaring.intake import read_model
from jejaring.intake.app import create_runtime
from jejaring.intake.models import ReferralView
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.contract.enums import BusinessStatus, ReferralStatus
from jejaring.shared.contract.envelope import encode
from jejaring.shared.contract.events import (
    ReferralEscalated,
    ReferralOverdue,
    ReferralStatusChanged,
)
from jejaring.testing import sample_events


def fact(sequence: int, status: ReferralStatus) -> ReferralStatusChanged:
    base = next(e for e in sample_events() if isinstance(e, ReferralStatusChanged))
    return base.model_copy(update={"sequence": sequence, "status": status})


async def started(nats_url: str, database_url: str, tmp_path: Path) -> Any:
    """Intake's runtime, once its consumers run."""
    runtime = create_runtime(
        IntakeSettings(nats_url=nats_url, database_url=database_url, data_dir=tmp_path)
    )
    await runtime.start()
    deadline = time.monotonic() + 15
    while not runtime.consumers and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return runtime


async def test_newer_status_wins_whatever_the_arrival_order(
    nats_url: str, database_url: str, js, tmp_path: Path
) -> None:
    runtime = await started(nats_url, database_url, tmp_path)
    try:
        deadline = time.monotonic() + 15
        accepted = fact(2, ReferralStatus.ACCEPTED)
        requested = fact(1, ReferralStatus.REQUESTED).model_copy(
            update={"referral_id": accepted.referral_id}
        )
        newer, older = encode(accepted, source="/t"), encode(requested, source="/t")
        # newer first, then older, then the newer again (same ce-id, past the dedup window)
        for message, msg_id in ((newer, newer.msg_id), (older, older.msg_id), (newer, "again")):
            headers = {**message.headers, "Nats-Msg-Id": msg_id}
            await js.publish(message.subject, message.body, headers=headers)

        consumer = runtime.consumers[0]
        while (
            consumer.stats.handled + consumer.stats.duplicates < 3 and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        async with runtime.sessions() as session:
            views = (await session.scalars(select(ReferralView))).all()
        assert [(v.referral_id, v.status, v.sequence) for v in views] == [
            (accepted.referral_id, "accepted", 2)
        ]
        assert consumer.stats.duplicates == 1
        assert consumer.stats.dead_lettered == 0
    finally:
        await runtime.stop()


async def test_each_event_is_a_step_once_in_the_referral_s_order(
    nats_url: str, database_url: str, js, tmp_path: Path
) -> None:
    """Requested, overdue, escalated, accepted: the steps are in the referral's order however
    the events arrive; a repeat of an event (a new message id, so past the inbox) adds nothing."""
    runtime = await started(nats_url, database_url, tmp_path)
    try:
        deadline = time.monotonic() + 15
        start = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
        requested = fact(1, ReferralStatus.REQUESTED).model_copy(update={"occurred_at": start})
        same = {
            "referral_id": requested.referral_id,
            "case_id": requested.case_id,
            "status": ReferralStatus.REQUESTED,
            "occurred_at": start + dt.timedelta(hours=2),
        }
        base = requested.model_dump()
        overdue = ReferralOverdue.model_validate(
            {**base, **same, "sequence": 2, "business_status": (BusinessStatus.OVERDUE,)}
        )
        escalated = ReferralEscalated.model_validate(
            {
                **base,
                **same,
                "sequence": 3,
                "business_status": (BusinessStatus.OVERDUE, BusinessStatus.ESCALATED),
            }
        )
        accepted = requested.model_copy(
            update={
                "sequence": 4,
                "status": ReferralStatus.ACCEPTED,
                "business_status": escalated.business_status,
                "by": "Ibu Sari",
                "occurred_at": start + dt.timedelta(hours=3),
            }
        )
        # the first and the last first; the accepted again (as referral would publish a lost
        # message again, under a new message id); then the two older events, late
        for event in (requested, accepted, accepted, escalated, overdue):
            message = encode(event, source="/t")
            await js.publish(message.subject, message.body, headers=message.headers)

        consumer = runtime.consumers[0]
        while consumer.stats.handled < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        async with runtime.sessions() as session:
            views = (await session.scalars(select(ReferralView))).all()
            steps = await read_model.steps_of(session, case_id=requested.case_id)
        assert consumer.stats.handled == 5
        assert consumer.stats.dead_lettered == 0
        assert [(v.status, v.sequence) for v in views] == [("accepted", 4)]
        assert list(steps) == [requested.referral_id]
        assert [
            (s.sequence, s.kind, s.status, s.business_status, s.answered_by, s.occurred_at)
            for s in steps[requested.referral_id]
        ] == [
            (1, "status_changed", "requested", [], None, start),
            (2, "overdue", "requested", ["overdue"], None, same["occurred_at"]),
            (3, "escalated", "requested", ["overdue", "escalated"], None, same["occurred_at"]),
            (
                4,
                "status_changed",
                "accepted",
                ["overdue", "escalated"],
                "Ibu Sari",
                accepted.occurred_at,
            ),
        ]
    finally:
        await runtime.stop()
