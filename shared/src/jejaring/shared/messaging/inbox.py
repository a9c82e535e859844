"""Pruning the inbox: a consumer's record of the event ids it has handled is kept for as long
as the same event can come to it again, and no longer (docs/decisions.md, "The DLQ tool and
inbox pruning").

An event reaches a consumer again only while it is in its stream (a redelivery, or a consumer
read again from the start), at most the stream's `max_age` after it was published; or as a
replay from the DLQ, which keeps a dead letter `max_age` (90 days) after a consumer gave up on
it, and no consumer gives up on an event later than its stream keeps it. An inbox row is
written after the event was published, so the horizon is the longest max_age of a stream the
services consume, plus the DLQ's, plus a day for clocks and a prune that runs late.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.provision import DAY_S, contract_streams
from jejaring.shared.messaging.tables import inbox

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 3600.0
PRUNE_BATCH = 1000


def dedupe_horizon() -> dt.timedelta:
    """How long an inbox row is kept: 30 days (CASES, REPLIES, REFERRAL_EVENTS) + the DLQ's
    replay window (14) + 1."""
    streams = {spec.name: spec.max_age_s for spec in contract_streams()}
    dlq = streams.pop(subjects.DLQ_STREAM)
    return dt.timedelta(seconds=max(streams.values()) + dlq + DAY_S)


async def prune_inbox(
    sessions: async_sessionmaker[AsyncSession],
    *,
    horizon: dt.timedelta | None = None,
    batch: int = PRUNE_BATCH,
    now: dt.datetime | None = None,
) -> int:
    """Delete the inbox rows received before `now - horizon`, `batch` rows a transaction (so
    the consumers' inserts never wait long for the table); return how many were deleted."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - (horizon or dedupe_horizon())
    oldest = (
        select(inbox.c.consumer, inbox.c.msg_id)
        .where(inbox.c.received_at < cutoff)  # ix_inbox_received_at
        .limit(batch)
    )
    statement = delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.msg_id).in_(oldest))
    deleted = 0
    while True:
        async with sessions() as session, session.begin():
            result = await session.execute(statement)
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count < batch:
            break
    if deleted:
        log.info("inbox pruned", extra={"rows": deleted, "before": cutoff.isoformat()})
    return deleted
