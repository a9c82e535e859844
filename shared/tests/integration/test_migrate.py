"""Migrations at start (migrate.py), on SQLite and PostgreSQL: a served process migrates in a
child forked before its event loop, so that Alembic never lives in its memory; a failing
migration is refused with its error and leaves nothing half-applied; an unreachable database
is retried, then refused; an app started in-process migrates in its lifespan, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import inspect, text

from jejaring.shared import db
from jejaring.shared.messaging.natsserver import free_port
from jejaring.shared.migrate import Schema
from jejaring.testing import start_refused

MIGRATION = '''
"""A test branch: one table.

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

# What a served process runs: every service's and the web app's modules imported, the schema
# applied in a forked child. It prints its outcome and the modules it holds that it never uses
# (Alembic's, which only the child needs; those jejaring.shared keeps out: __init__.py;
# OpenTelemetry's SDK, loaded only to export; SQLite's on PostgreSQL).
SERVED = """
import json, logging, sys
from pathlib import Path
import jejaring.intake.app, jejaring.referral.app, jejaring.notify.app, jejaring.report.app
import jejaring.web.app, jejaring.shared.web.serve
from jejaring.shared.migrate import MigrationFailed, Schema

logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
schema = Schema({url!r}, Path({versions!r}), lock_name="t", attempts={attempts})
try:
    schema.apply_in_child()
    outcome = "applied" if schema.applied else "not applied"
except MigrationFailed as failed:
    outcome = f"refused: {{failed}}"
unused = ("alembic", "mako", "pygments", "rich", "pydantic.v1", "opentelemetry.sdk")
if {url!r}.startswith("postgresql"):  # SQLite's library is loaded only for a SQLite database
    unused += ("sqlite3", "_sqlite3", "aiosqlite")
held = sorted(m for m, mod in sys.modules.items() if mod and m.startswith(unused))
print(json.dumps({{"outcome": outcome, "unused": held}}))
"""


def versions_with(tmp_path: Path, more: str = "pass") -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "t_0001.py").write_text(MIGRATION.format(more=more))
    return versions


def served(url: str, versions: Path, attempts: int = 30) -> tuple[dict[str, object], str]:
    """Run SERVED in a Python of its own: its report and its log."""
    script = SERVED.format(url=url, versions=str(versions), attempts=attempts)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


async def tables(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_a_served_process_migrates_in_a_child_and_holds_no_unused_module(
    database_url: str, tmp_path: Path
) -> None:
    versions = versions_with(tmp_path)
    for _ in range(2):  # the second start finds nothing to do
        report, _log = served(database_url, versions)
        assert report == {"outcome": "applied", "unused": []}
    assert {"outbox", "inbox", "t_thing", "alembic_version"} <= await tables(database_url)


async def test_a_failing_migration_is_refused_with_its_error_and_nothing_applied(
    database_url: str, tmp_path: Path
) -> None:
    versions = versions_with(tmp_path, more='raise ValueError("t_0001 found a row it cannot move")')
    report, log = served(database_url, versions)
    assert report["outcome"] == "refused: ValueError: t_0001 found a row it cannot move"
    assert "retrying" not in log
    # One transaction: the plumbing's tables and the failed branch's are all rolled back.
    assert not {"outbox", "t_thing"} & await tables(database_url)


def test_an_unreachable_database_is_retried_then_refused(tmp_path: Path) -> None:
    nobody = f"postgresql+asyncpg://jejaring:x@127.0.0.1:{free_port()}/jejaring"
    report, log = served(nobody, versions_with(tmp_path), attempts=2)
    assert str(report["outcome"]).startswith("refused: ")
    assert "refused" in str(report["outcome"]).removeprefix("refused: ").lower()
    assert log.splitlines() == ["jejaring.shared.migrate: database not reachable, retrying"]


async def test_in_process_the_lifespan_migrates_once(database_url: str, tmp_path: Path) -> None:
    schema = Schema(database_url, versions_with(tmp_path), lock_name="t")
    engine = db.create_engine(database_url)
    try:
        await schema.ensure(engine)
        assert schema.applied
        (tmp_path / "versions" / "t_0001.py").write_text("this is not Python")
        await schema.ensure(engine)  # applied already: the versions are not read again
    finally:
        await engine.dispose()
    assert {"outbox", "t_thing"} <= await tables(database_url)


async def test_a_service_whose_database_is_ahead_of_it_refuses_to_start_saying_why(
    database_url: str, tmp_path: Path
) -> None:
    # A database a newer release migrated (a revision this one does not know): report stops
    # before it serves, naming the revision, instead of running on a schema it cannot read.
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            await conn.execute(text("INSERT INTO alembic_version VALUES ('report_9999')"))
    finally:
        await engine.dispose()
    env = {"PATH": os.environ["PATH"], "REPORT_DATA_DIR": str(tmp_path)}
    env["REPORT_DATABASE_URL"] = database_url
    env["REPORT_PORT"] = str(free_port())
    done = start_refused("report", env)
    assert done.returncode == 1, done.stderr
    [line] = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert (line["level"], line["msg"]) == ("error", "cannot start: the database was not migrated")
    assert "Can't locate revision identified by 'report_9999'" in line["error"]
