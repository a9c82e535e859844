"""Alembic migrations applied at start: the shared `plumbing` branch plus the service's own.

A served process (`serve()`) applies them in a child it forks before its event loop exists, so
that Alembic never lives in its memory: with Mako and Pygments, which it imports, that is about
10 MB each service would otherwise carry for its whole life for a fraction of a second's work at
start. The fork happens while the process has no event loop, no thread and no database
connection: a child forked from inside a running uvloop loop was not safe (docs/decisions.md,
"Alembic at start, requests on the loop"). An app started in-process (the tests) migrates in
its lifespan instead, with the same retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from jejaring.shared import db

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
ATTEMPTS = 30  # while the database is unreachable: about two minutes
_MAX_ERROR = 4000  # characters of the child's error passed on


class MigrationFailed(RuntimeError):
    """The child could not bring the database to every head (its error's type and message)."""


def alembic_config(
    service_versions: Path, target_metadata: MetaData | None = None, *, plumbing: bool = True
) -> Config:
    """An Alembic configuration over the plumbing branch (outbox and inbox; a process that does
    not exchange events, such as the web app, leaves it out) and a service's versions folder."""
    from alembic.config import Config  # only where migrations run (see above)

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
    from alembic import command

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


@dataclass
class Schema:
    """A process's database schema and whether this process has brought it to every head."""

    url: str
    versions: Path
    lock_name: str
    plumbing: bool = True
    lock_timeout_ms: int = 30_000
    attempts: int = ATTEMPTS
    applied: bool = False

    async def ensure(self, engine: AsyncEngine) -> None:
        """Migrate over `engine` (retrying while the database is unreachable), unless done."""
        if self.applied:
            return
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                await migrate(
                    engine, self.versions, lock_name=self.lock_name, plumbing=self.plumbing
                )
                break
            except Exception as exc:
                if attempt == self.attempts or not db.is_transient_db_error(exc):
                    raise
                log.warning("database not reachable, retrying", extra={"attempt": attempt})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.applied = True

    def apply_in_child(self) -> None:
        """Migrate in a forked child and wait for it. Only where this process has no event loop,
        thread or database connection yet (serve(), before uvicorn). Raises MigrationFailed."""
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, which never returns
            os.close(read_end)
            self._child(write_end)
        os.close(write_end)
        try:
            with os.fdopen(read_end, "rb") as pipe:
                report = pipe.read()
        except BaseException:  # Ctrl-C: its transaction is rolled back with its connection
            os.kill(pid, signal.SIGKILL)
            raise
        finally:
            _, status = os.waitpid(pid, 0)
        if not report:
            raise MigrationFailed(f"the migration process ended without a word ({_ended(status)})")
        error = json.loads(report)["error"]
        if error is not None:
            raise MigrationFailed(error)
        self.applied = True

    def _child(self, write_end: int) -> None:  # pragma: no cover - runs in the forked child
        from jejaring.shared.messaging.natsserver import terminate_with_parent

        code = 1
        try:
            terminate_with_parent()

            async def run() -> None:
                engine = db.create_engine(self.url, lock_timeout_ms=self.lock_timeout_ms)
                try:
                    await self.ensure(engine)
                finally:
                    await engine.dispose()

            error = None
            try:
                asyncio.run(run())
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            os.write(write_end, json.dumps({"error": error}).encode())
            code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
