"""SQLite's writers in one process queue in order (db._WriteQueue), not in its busy handler."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from jejaring.shared import db


async def _writes(tmp_path: Path, lock_timeout_ms: int = 30_000) -> db.AsyncEngine:
    # connections kept open for every writer of a test: none waits to be connected, which
    # would change the order in which they ask for their turn
    engine = db.create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}",
        lock_timeout_ms=lock_timeout_ms,
        pool_size=12,
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE w (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER UNIQUE)")
        )
    return engine


async def _rows(engine: db.AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT n FROM w ORDER BY seq"))).scalars())


async def _hold(
    sessions: db.async_sessionmaker[db.AsyncSession],
    n: int,
    holding: asyncio.Event,
    release: asyncio.Event,
) -> None:
    """A slow writer: writes `n`, says it holds its turn, and commits only when released."""
    async with sessions() as session, session.begin():
        await session.execute(text(f"INSERT INTO w (n) VALUES ({n})"))
        holding.set()
        await release.wait()


async def test_writers_write_in_the_order_they_came_while_a_long_one_holds(
    tmp_path: Path,
) -> None:
    """Four writers wait long behind a slow one, four more come just before it ends. In SQLite's
    busy handler the first four would sleep 100 ms between tries and the last four, trying
    again after 1, 2 and 5 ms, would write first; in the queue each goes in its turn."""
    engine = await _writes(tmp_path)
    sessions = db.session_factory(engine)
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer(n: int) -> None:
        async with sessions() as session, session.begin():
            await session.execute(text(f"INSERT INTO w (n) VALUES ({n})"))

    try:
        async with contextlib.AsyncExitStack() as opened:  # all connected before the writers
            for _ in range(12):
                await opened.enter_async_context(engine.connect())
        first = asyncio.create_task(_hold(sessions, 0, holding, release))
        await holding.wait()
        others = []
        for n in range(1, 9):
            others.append(asyncio.create_task(writer(n)))
            await asyncio.sleep(0.03 if n < 4 else 0.4 if n == 4 else 0.003)
        # a reader is not in the queue: it reads what was committed, now
        async with sessions() as session:
            await db.read_only(session)
            assert (await session.execute(text("SELECT count(*) FROM w"))).scalar() == 0
        release.set()
        await asyncio.gather(first, *others)
        assert await _rows(engine) == list(range(9))
    finally:
        await engine.dispose()


async def test_a_failed_writer_gives_its_turn_to_the_next(tmp_path: Path) -> None:
    engine = await _writes(tmp_path)
    sessions = db.session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO w (n) VALUES (1)"))
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                await session.execute(text("INSERT INTO w (n) VALUES (1)"))
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO w (n) VALUES (2)"))
        assert await _rows(engine) == [1, 2]
    finally:
        await engine.dispose()


async def test_a_writer_that_waits_past_the_lock_timeout_fails_as_transient(
    tmp_path: Path,
) -> None:
    engine = await _writes(tmp_path, lock_timeout_ms=200)
    sessions = db.session_factory(engine)
    holding, release = asyncio.Event(), asyncio.Event()

    try:
        first = asyncio.create_task(_hold(sessions, 1, holding, release))
        await holding.wait()
        with pytest.raises(OperationalError) as failed:
            async with sessions() as session, session.begin():
                await session.execute(text("INSERT INTO w (n) VALUES (2)"))
        assert db.is_transient_db_error(failed.value)
        release.set()
        await first
        async with sessions() as session, session.begin():  # the queue goes on
            await session.execute(text("INSERT INTO w (n) VALUES (3)"))
        assert await _rows(engine) == [1, 3]
    finally:
        await engine.dispose()


async def test_sqlite_errors_are_retried_only_when_a_retry_can_get_past_them(
    tmp_path: Path,
) -> None:
    """Another process holding the database is worth waiting out; a missing table or a
    duplicate key fails the same way every time (SQLite reports the first two alike)."""
    engine = await _writes(tmp_path, lock_timeout_ms=200)
    other = sqlite3.connect(tmp_path / "queue.db", isolation_level=None)
    try:
        with pytest.raises(OperationalError) as missing:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO no_such_table (n) VALUES (1)"))
        assert not db.is_transient_db_error(missing.value)

        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO w (n) VALUES (1)"))
        with pytest.raises(IntegrityError) as twice:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO w (n) VALUES (1)"))
        assert not db.is_transient_db_error(twice.value)

        other.execute("BEGIN IMMEDIATE")  # a writer outside this process's queue
        with pytest.raises(OperationalError) as locked:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO w (n) VALUES (2)"))
        assert "database is locked" in str(locked.value)
        assert db.is_transient_db_error(locked.value)
    finally:
        other.close()
        await engine.dispose()
