from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jejaring.shared import db
from jejaring.shared.migrate import migrate
from jejaring.testing import effects_metadata


@dataclass
class Plumbing:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def plumbing(database_url: str, tmp_path: Path) -> AsyncIterator[Plumbing]:
    """A fresh database with the outbox and inbox (migrated) and a test `effects` table."""
    engine = db.create_engine(database_url, lock_timeout_ms=300)
    versions = tmp_path / "versions"
    versions.mkdir()
    await migrate(engine, versions, lock_name="test")
    async with engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    try:
        yield Plumbing(database_url, engine, db.session_factory(engine))
    finally:
        await engine.dispose()
