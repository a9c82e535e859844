"""Inbox pruning on a migrated database (SQLite, and PostgreSQL when configured): rows past the
dedupe horizon go, in batches, through the index on received_at; newer rows stay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, text

from jejaring.shared.messaging.inbox import dedupe_horizon, prune_inbox
from jejaring.shared.messaging.provision import contract_streams
from jejaring.shared.messaging.tables import inbox

NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


def test_the_horizon_outlasts_every_way_an_event_can_come_back() -> None:
    """A redelivery comes while the event is in its stream (max 30 days), a replay while its
    dead letter is in the DLQ (the 14-day replay window, and the dead letter was made while the
    event was in its stream): 45 days covers both with a day to spare."""
    ages = {spec.name: dt.timedelta(seconds=spec.max_age_s) for spec in contract_streams()}
    dlq = ages.pop("DLQ")
    assert dedupe_horizon() > max(ages.values()) + dlq
    assert dedupe_horizon() == dt.timedelta(days=45)


async def test_rows_past_the_horizon_are_deleted_in_batches_and_newer_ones_kept(plumbing) -> None:
    horizon = dedupe_horizon()
    old = [
        {
            "consumer": f"c{i % 2}",
            "msg_id": f"old-{i}",
            "subject": "case.v1.created",
            "received_at": NOW - horizon - dt.timedelta(minutes=i + 1),
        }
        for i in range(25)
    ]
    kept = [
        {
            "consumer": "c0",
            "msg_id": f"new-{i}",
            "subject": "case.v1.created",
            "received_at": NOW - horizon + dt.timedelta(minutes=i + 1),
        }
        for i in range(5)
    ]
    async with plumbing.sessions() as session, session.begin():
        await session.execute(insert(inbox), old + kept)

    assert await prune_inbox(plumbing.sessions, batch=10, now=NOW) == 25
    async with plumbing.sessions() as session:
        left = set((await session.execute(select(inbox.c.msg_id))).scalars())
    assert left == {row["msg_id"] for row in kept}
    assert await prune_inbox(plumbing.sessions, batch=10, now=NOW) == 0


async def test_the_prune_finds_its_rows_through_the_index(plumbing) -> None:
    """The planner is asked for the oldest rows by received_at: an index, not a table scan."""
    async with plumbing.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = (
                await conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT consumer, msg_id FROM inbox WHERE received_at < :t"
                    ),
                    {"t": NOW.isoformat()},
                )
            ).all()
            assert "ix_inbox_received_at" in " ".join(str(row) for row in plan)
        else:
            await conn.execute(text("SET enable_seqscan = off"))
            plan = (
                await conn.execute(
                    text("EXPLAIN SELECT consumer, msg_id FROM inbox WHERE received_at < :t"),
                    {"t": NOW},
                )
            ).all()
            assert "ix_inbox_received_at" in " ".join(str(row) for row in plan)
