"""Transactions on both databases: a reader never queues behind a writer."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from jejaring.shared.db import is_transient_db_error, read_only
from jejaring.shared.messaging.tables import outbox
from jejaring.testing import effects


async def test_a_reader_does_not_wait_for_an_open_writer(plumbing) -> None:  # type: ignore[no-untyped-def]
    async with plumbing.sessions() as writer, writer.begin():
        await writer.execute(effects.insert().values(key="held", count=1))  # holds the write lock

        async with plumbing.sessions() as reader:
            await read_only(reader)
            started = time.monotonic()
            unsent = await reader.scalar(select(func.count()).select_from(outbox))
            assert unsent == 0
            assert time.monotonic() - started < 0.2  # the lock timeout here is 0.3 s

        if plumbing.url.startswith("sqlite"):
            # Without read_only a transaction on SQLite begins as a writer and waits its turn.
            async with plumbing.sessions() as other:
                with pytest.raises(OperationalError) as refused:
                    await asyncio.wait_for(
                        other.scalar(select(func.count()).select_from(outbox)), timeout=5
                    )
                assert is_transient_db_error(refused.value)
