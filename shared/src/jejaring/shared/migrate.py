"""Alembic migrations applied at start: the shared `plumbing` branch plus the service's own.

Alembic runs in a child process forked for it, so that it never lives in a service's memory:
with Mako and Pygments, which it imports, it is about 9 MB that each service (and the launcher
all of them are forked from) would otherwise carry for its whole life, for a fraction of a
second's work at start. A fork costs about a millisecond; the child imports Alembic (about 0.1 s
of CPU), upgrades, reports in a line of JSON on a pipe, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from jejaring.shared.db import is_transient_db_error

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
ATTEMPTS = 30  # while the database is unreachable: about two minutes
_MAX_ERROR = 4000  # characters of the child's error passed on


class MigrationFailed(RuntimeError):
    """The migrations could not be applied; `transient` when worth trying again (the database
    unreachable or busy)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def alembic_config(
    service_versions: Path, target_metadata: MetaData | None = None, *, plumbing: bool = True
) -> Config:
    """An Alembic configuration over the plumbing branch (outbox and inbox; a process that does
    not exchange events, such as the web app, leaves it out) and a service's versions folder."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SHARED_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    locations = [str(SHARED_MIGRATIONS / "versions")] if plumbing else []
    cfg.set_main_option("version_locations", os.pathsep.join([*locations, str(service_versions)]))
    cfg.attributes["target_metadata"] = target_metadata
    return cfg


async def migrate(
    engine: AsyncEngine,
    service_versions: Path,
    *,
    lock_name: str,
    plumbing: bool = True,
    attempts: int = ATTEMPTS,
) -> None:
    """Bring the database to every head, retrying while it is unreachable; replicas starting
    together take turns on PostgreSQL. Raises MigrationFailed."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            await in_child(lambda: _upgrade(engine, service_versions, lock_name, plumbing))
            return
        except MigrationFailed as failed:
            if attempt == attempts or not failed.transient:
                raise
            log.warning("database not reachable, retrying", extra={"attempt": attempt})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _upgrade(engine: AsyncEngine, versions: Path, lock_name: str, plumbing: bool) -> None:
    """In the child: upgrade over connections of its own (the parent's pool is left alone)."""
    from alembic import command

    await engine.dispose(close=False)
    cfg = alembic_config(versions, plumbing=plumbing)

    def upgrade(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(lock_name.encode())}
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")

    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()


async def in_child(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work` on an event loop of its own in a forked child and wait for it without
    blocking this loop. Raises MigrationFailed with the child's error (its type and message)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, which never returns
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    try:
        report = await _read_to_end(read_end)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # its transaction is rolled back with its connection
        raise
    finally:
        # The pipe's end is the child's exit (or its SIGKILL): this wait is over at once.
        _, status = os.waitpid(pid, 0)  # noqa: ASYNC222
    outcome = json.loads(report) if report else None
    if outcome is None:
        raise MigrationFailed(
            f"the migration process ended without a word ({_ended(status)})", transient=False
        )
    if outcome["error"] is not None:
        raise MigrationFailed(outcome["error"], transient=outcome["transient"])


def _child(work: Callable[[], Coroutine[Any, Any, None]], write_end: int) -> None:
    """The forked child: signals as a fresh process has them, then `work` on a thread of its
    own (this thread's event loop is the parent's and still marked running), its outcome
    written to `write_end`; exits without running anything the parent registered."""
    code = 1
    try:
        with contextlib.suppress(ValueError):  # not the main thread: no wakeup fd to undo
            signal.set_wakeup_fd(-1)  # the parent's event loop would get the child's signals
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        from jejaring.shared.messaging.natsserver import terminate_with_parent

        terminate_with_parent()
        outcome: dict[str, Any] = {"error": "the migration did not finish", "transient": False}

        def run() -> None:
            try:
                asyncio.run(work())
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
                outcome.update(error=error, transient=is_transient_db_error(exc))
            else:
                outcome["error"] = None

        worker = threading.Thread(target=run, name="migrate")
        worker.start()
        worker.join()
        os.write(write_end, json.dumps(outcome).encode())
        code = 0
    finally:
        os._exit(code)


async def _read_to_end(fd: int) -> bytes:
    """Everything written to the pipe `fd` until its writer closes it (then `fd` is closed)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        return await reader.read()
    finally:
        transport.close()


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
