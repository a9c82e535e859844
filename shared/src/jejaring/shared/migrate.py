"""Alembic migrations applied at start: the shared `plumbing` branch plus the service's own."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(
    service_versions: Path, target_metadata: MetaData | None = None, *, plumbing: bool = True
) -> Config:
    """An Alembic configuration over the plumbing branch (outbox and inbox; a process that does
    not exchange events, such as the web app, leaves it out) and a service's versions folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SHARED_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    locations = [str(SHARED_MIGRATIONS / "versions")] if plumbing else []
    cfg.set_main_option("version_locations", os.pathsep.join([*locations, str(service_versions)]))
    cfg.attributes["target_metadata"] = target_metadata
    return cfg


async def migrate(
    engine: AsyncEngine, service_versions: Path, *, lock_name: str, plumbing: bool = True
) -> None:
    """Bring the database to every head; replicas starting together take turns on PostgreSQL."""
    cfg = alembic_config(service_versions, plumbing=plumbing)

    def upgrade(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(lock_name.encode())}
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
