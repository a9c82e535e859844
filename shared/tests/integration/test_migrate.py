"""Migrations at start, run in a forked child (migrate.py), on SQLite and PostgreSQL: the
database reaches every head, the service's own process never imports Alembic, a failing
migration is refused with its error and leaves nothing half-applied, and an unreachable
database is retried, then refused as such."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect

from jejaring.shared import db
from jejaring.shared.messaging.natsserver import free_port
from jejaring.shared.migrate import MigrationFailed, migrate

MIGRATION = '''
"""A test branch: one table{extra}.

Revision ID: t_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "t_0001"
down_revision = None
branch_labels = ("t",)
depends_on = "plumbing_0001"


def upgrade() -> None:
    op.create_table("t_thing", sa.Column("id", sa.Integer(), primary_key=True))
    {more}
'''


def versions_with(tmp_path: Path, more: str = "pass") -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "t_0001.py").write_text(MIGRATION.format(extra="", more=more))
    return versions


async def tables(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_a_service_migrates_without_alembic_in_its_memory(
    database_url: str, tmp_path: Path
) -> None:
    versions = versions_with(tmp_path)
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pathlib import Path
        from jejaring.shared import db
        from jejaring.shared.messaging import runtime  # what a service imports
        from jejaring.shared.migrate import migrate

        async def main():
            engine = db.create_engine({database_url!r})
            await migrate(engine, Path({str(versions)!r}), lock_name="t")
            await engine.dispose()

        asyncio.run(main())
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako"))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


async def test_migrated_to_every_head(database_url: str, tmp_path: Path) -> None:
    engine = db.create_engine(database_url)
    try:
        await migrate(engine, versions_with(tmp_path), lock_name="t")
        await migrate(engine, tmp_path / "versions", lock_name="t")  # again: nothing to do
    finally:
        await engine.dispose()
    assert {"outbox", "inbox", "t_thing", "alembic_version"} <= await tables(database_url)


async def test_a_failing_migration_is_refused_with_its_error_and_nothing_applied(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    versions = versions_with(tmp_path, more='raise ValueError("t_0001 found a row it cannot move")')
    engine = db.create_engine(database_url)
    try:
        with pytest.raises(MigrationFailed) as refused:
            await migrate(engine, versions, lock_name="t")
    finally:
        await engine.dispose()
    assert str(refused.value) == "ValueError: t_0001 found a row it cannot move"
    assert not refused.value.transient
    assert "retrying" not in caplog.text
    # One transaction: the plumbing's tables and the failed branch's are all rolled back.
    assert not {"outbox", "t_thing"} & await tables(database_url)


async def test_an_unreachable_database_is_retried_then_refused_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"postgresql+asyncpg://jejaring:x@127.0.0.1:{free_port()}/jejaring"
    engine = db.create_engine(nobody)
    caplog.set_level(logging.WARNING, logger="jejaring.shared.migrate")
    try:
        with pytest.raises(MigrationFailed) as refused:
            await migrate(engine, versions_with(tmp_path), lock_name="t", attempts=2)
    finally:
        await engine.dispose()
    assert refused.value.transient
    assert "Connect call failed" in str(refused.value) or "refused" in str(refused.value)
    assert [r.getMessage() for r in caplog.records] == ["database not reachable, retrying"]
