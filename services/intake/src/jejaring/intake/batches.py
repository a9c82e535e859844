"""Work over many rows at start or in a periodic job, without one long transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")
SIZE = 200


async def in_batches(
    sessions: async_sessionmaker[AsyncSession],
    query: Select[Any],
    act: Callable[[AsyncSession, T], Awaitable[object]],
    *,
    size: int = SIZE,
) -> int:
    """`act` on each object `query` finds, a transaction (its rows locked) per batch of `size`,
    until a batch comes back short. `act` must make the object no longer match `query`.
    Returns how many were acted on."""
    done = 0
    while True:
        async with sessions() as session, session.begin():
            found = (await session.scalars(query.limit(size).with_for_update())).all()
            for item in found:
                await act(session, item)
        done += len(found)
        if len(found) < size:
            return done
