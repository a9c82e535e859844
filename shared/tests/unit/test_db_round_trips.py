"""`jejaring_db_round_trips_total`: what a service sends its database, counted by kind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from jejaring.shared import db


def sent() -> dict[str, float]:
    kinds = ("statement", "begin", "commit", "rollback")
    return {k: db.ROUND_TRIPS.labels(k)._value.get() for k in kinds}


def test_each_statement_commit_and_rollback_is_counted(tmp_path: Path) -> None:
    async def work() -> None:
        engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'count.db'}")
        try:
            async with engine.begin() as conn:  # BEGIN IMMEDIATE, two statements, COMMIT
                await conn.execute(text("SELECT 1"))
                await conn.execute(text("SELECT 2"))
            async with engine.connect() as conn:  # BEGIN, one statement, ROLLBACK
                await conn.execute(text("SELECT 3"))
                await conn.rollback()
        finally:
            await engine.dispose()

    before = sent()
    asyncio.run(work())
    moved = {k: v - before[k] for k, v in sent().items()}
    # the connection's PRAGMAs are set through the driver's own cursor: not counted
    assert moved == {"statement": 5, "begin": 0, "commit": 1, "rollback": 1}
