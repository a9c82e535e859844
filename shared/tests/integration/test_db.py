"""Transactions on both databases: a reader never queues behind a writer, and on PostgreSQL
sends no BEGIN (nor does a single write); a database error reaches the logs without the values
it was about; on PostgreSQL a burst waits for one of the pool's connections, and a pool size
that is no positive number stops the service, naming the setting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from jejaring.shared import db
from jejaring.shared.db import is_transient_db_error, one_statement, read_only
from jejaring.shared.logs import JsonFormatter
from jejaring.shared.messaging.tables import outbox
from jejaring.testing import effects, start_refused


async def test_a_reader_does_not_wait_for_an_open_writer(plumbing) -> None:  # type: ignore[no-untyped-def]
    async with plumbing.sessions() as writer, writer.begin():
        await writer.execute(effects.insert().values(key="held", count=1))  # holds the write lock

        async with plumbing.sessions() as reader:
            await read_only(reader)
            # A reader that queued behind the writer would fail at the lock timeout (0.3 s here)
            # instead of answering: the answer is the proof, with no clock to stall.
            unsent = await reader.scalar(select(func.count()).select_from(outbox))
            assert unsent == 0

        if plumbing.url.startswith("sqlite"):
            # Without read_only a transaction on SQLite begins as a writer and waits its turn.
            async with plumbing.sessions() as other:
                with pytest.raises(OperationalError) as refused:
                    await asyncio.wait_for(
                        other.scalar(select(func.count()).select_from(outbox)), timeout=5
                    )
                assert is_transient_db_error(refused.value)


def _round_trips() -> dict[str, float]:
    return {
        kind: REGISTRY.get_sample_value("jejaring_db_round_trips_total", {"kind": kind}) or 0.0
        for kind in ("statement", "begin", "commit", "rollback")
    }


@contextlib.asynccontextmanager
async def _sent() -> AsyncIterator[dict[str, float]]:
    """The round trips sent inside the block, by kind (those of which none was sent left out)."""
    before, sent = _round_trips(), dict[str, float]()
    yield sent
    sent.update({k: n - before[k] for k, n in _round_trips().items() if n != before[k]})


async def test_a_read_only_session_sends_only_its_statement_on_postgresql(plumbing) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a reader runs without a transaction: its SELECT is the only round trip.
    SQLite begins a deferred transaction."""
    async with plumbing.sessions() as warm:  # the pool's first connection costs its own setup
        await read_only(warm)
        await warm.scalar(select(func.count()).select_from(outbox))
    async with _sent() as sent, plumbing.sessions() as reader:
        await read_only(reader)
        assert await reader.scalar(select(func.count()).select_from(outbox)) == 0
    if plumbing.url.startswith("postgresql"):
        assert sent == {"statement": 1}
    else:
        assert sent == {"statement": 2, "rollback": 1}  # BEGIN, the SELECT; the end
    # The connection goes back to the pool as it was: the next session's write is transactional.
    async with plumbing.sessions() as writer:
        await writer.execute(effects.insert().values(key="rolled back", count=1))
        await writer.rollback()
    async with plumbing.sessions() as other:
        assert await other.scalar(select(func.count()).select_from(effects)) == 0


async def test_one_statement_is_written_without_begin_and_commit_on_postgresql(plumbing) -> None:  # type: ignore[no-untyped-def]
    async with plumbing.sessions() as warm, warm.begin():
        await warm.execute(effects.insert().values(key="k", count=1))
    async with _sent() as sent, plumbing.sessions() as session, session.begin():
        await one_statement(session)
        await session.execute(effects.update().values(count=2))
    if plumbing.url.startswith("postgresql"):
        assert sent == {"statement": 1}
    else:
        assert sent == {"statement": 2, "commit": 1}  # BEGIN IMMEDIATE, the UPDATE; COMMIT
    async with plumbing.sessions() as other:
        assert await other.scalar(select(effects.c.count)) == 2


NAME = "Putri Ayu Lestari"


async def test_a_database_error_is_logged_without_the_values_it_names(database_url: str) -> None:
    """PostgreSQL's unique violation says "Key (name)=(Putri …) already exists"; the log line
    keeps the error's type and SQLSTATE only."""
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE v (name TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO v VALUES (:n)"), {"n": NAME})
        with pytest.raises(IntegrityError) as clash:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO v VALUES (:n)"), {"n": NAME})
    finally:
        await engine.dispose()
    exc = clash.value
    record = logging.LogRecord(
        "t",
        logging.ERROR,
        __file__,
        1,
        "unhandled error",
        None,
        (type(exc), exc, exc.__traceback__),
    )
    line = JsonFormatter("test").format(record)
    assert NAME not in line
    assert "IntegrityError: database error" in line
    if database_url.startswith("postgresql"):
        assert NAME in str(exc), "the driver's message does hold the value"
        assert "SQLSTATE 23505" in line


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_burst_beyond_the_pool_waits_for_a_connection_and_opens_no_more(
    database_url: str,
) -> None:
    """Twelve sessions at once on a pool of three: every one is answered (none refused, none
    failed for want of a connection), and PostgreSQL never sees more than three of them."""
    engine = db.create_engine(database_url, pool_size=3)
    sessions = db.session_factory(engine)
    connected = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")

    async def one() -> int:
        async with sessions() as session:
            await read_only(session)
            seen = int(await session.scalar(connected) or 0)
            await session.execute(text("SELECT pg_sleep(0.05)"))  # holds its connection a while
            return seen

    try:
        seen = await asyncio.gather(*(one() for _ in range(12)))
        assert len(seen) == 12
        assert max(seen) <= 3, seen
        assert engine.pool.checkedout() == 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("value", "reason"),
    [("0", "greater than or equal to 1"), ("lots", "valid integer")],
)
def test_a_pool_size_that_is_not_a_positive_number_is_refused_naming_it(
    tmp_path: Path, value: str, reason: str
) -> None:
    env = {"REFERRAL_DATA_DIR": str(tmp_path), "REFERRAL_DB_POOL_SIZE": value}
    result = start_refused("referral", env)
    assert result.returncode == 78, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("jejaring-referral: cannot start: REFERRAL_DB_POOL_SIZE: ")
    assert reason in line
