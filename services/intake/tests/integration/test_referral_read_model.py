"""Intake's read model of referral statuses, fed from real NATS: idempotent and order-tolerant."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from jejaring.intake.app import create_runtime
from jejaring.intake.models import ReferralView
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.envelope import encode
from jejaring.shared.contract.events import ReferralStatusChanged
from jejaring.testing import sample_events


def fact(sequence: int, status: ReferralStatus) -> ReferralStatusChanged:
    base = next(e for e in sample_events() if isinstance(e, ReferralStatusChanged))
    return base.model_copy(update={"sequence": sequence, "status": status})


async def test_newer_status_wins_whatever_the_arrival_order(
    nats_url: str, database_url: str, js, tmp_path: Path
) -> None:
    runtime = create_runtime(
        IntakeSettings(nats_url=nats_url, database_url=database_url, data_dir=tmp_path)
    )
    await runtime.start()
    try:
        deadline = time.monotonic() + 15
        while not runtime.consumers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
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
