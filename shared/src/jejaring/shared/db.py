"""Async database plumbing: engine and session factory from a URL, SQLite tuned for a service."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import DateTime, TypeDecorator, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import TableClause
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    import sqlite3


def default_sqlite_url(service: str, data_dir: Path | str = ".data") -> str:
    """`sqlite+aiosqlite:///<data_dir>/<service>.db`: each service its own file."""
    return f"sqlite+aiosqlite:///{Path(data_dir) / f'{service}.db'}"


ROUND_TRIPS = Counter(
    "jejaring_db_round_trips",
    "What this process sent its database, by kind: `statement` (each execute, SQLite's BEGIN "
    "included), `begin` (PostgreSQL's, sent by the driver), `commit` and `rollback`.",
    ["kind"],
)


def _count_round_trips(engine: AsyncEngine, *, begin: bool) -> None:
    """Count what `engine` sends (a handful of nanoseconds each): statements per case is the
    figure the bench reports beside CPU per case, and an operator's sign of an N+1 query."""
    statements = ROUND_TRIPS.labels("statement")
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *_, **__: statements.inc())
    ends = {"commit": "commit", "rollback": "rollback"} | ({"begin": "begin"} if begin else {})
    for kind, name in ends.items():
        child = ROUND_TRIPS.labels(kind)

        def count(conn: Connection, *_: Any, c: Any = child) -> None:
            # An autocommit connection (`read_only` on PostgreSQL) sends no BEGIN or end.
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                c.inc()

        event.listen(engine.sync_engine, name, count)


DEFAULT_POOL_SIZE = 5


def create_engine(
    url: str,
    *,
    lock_timeout_ms: int = 30_000,
    pool_size: int = DEFAULT_POOL_SIZE,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL, a busy timeout, foreign keys and
    secure delete.

    `lock_timeout_ms` bounds how long a statement waits for a lock held by someone else
    before failing with a (transient, retried) error. `pool_size` is the connections the engine
    keeps: on PostgreSQL also the most it opens; a SQLite file's engine keeps SQLAlchemy's
    overflow (its connections are threads of this process, and SQLAlchemy's default pool
    size is the same five).
    """
    parsed = make_url(url)
    # Statement parameters may be a victim's name: never put them into error messages (logs).
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":  # (an in-memory database has one connection)
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = pool_size
        engine = create_async_engine(
            url, connect_args={"timeout": lock_timeout_ms / 1000}, **kwargs
        )

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, lock_timeout_ms)

        event.listen(engine.sync_engine, "connect", pragmas)
        # BEGIN IMMEDIATE: a writer takes the lock up front instead of failing on upgrade,
        # after its turn in the process's write queue; a reader (see `read_only`) begins
        # deferred and never waits for the writer (WAL).
        writers = _WriteQueue(lock_timeout_ms / 1000)
        event.listen(engine.sync_engine, "begin", writers.begin)
        event.listen(engine.sync_engine, "commit", writers.done)
        event.listen(engine.sync_engine, "rollback", writers.done)
        event.listen(engine.sync_engine, "checkin", writers.end)
        _count_round_trips(engine, begin=False)  # SQLite's BEGIN is a statement (above)
        return engine
    kwargs.setdefault("connect_args", {"server_settings": {"lock_timeout": str(lock_timeout_ms)}})
    # No pre-ping: it cost a BEGIN/ROLLBACK round trip on every checkout (about a third of
    # notify's statements). A connection found dead raises a disconnect error instead, which
    # invalidates the whole pool and is transient (is_transient_db_error): a consumer retries
    # the message, an HTTP caller gets 503 and retries (with its Idempotency-Key).
    kwargs.setdefault("pool_pre_ping", False)
    # A fixed pool, no overflow: a burst waits for one of `pool_size` connections in this
    # process instead of opening more that then wait in PostgreSQL. A case's write queues on
    # intake's reference counter and audit head anyway; ten kept and ten more allowed had all
    # twenty waiting on those row locks at 75 cases/s, and five held the p99s lower, 2 MB less
    # memory and a sum over the services that fits max_connections (docs/decisions.md,
    # "Five connections a process"). Overflow connections that open and close in each burst
    # (a server process each, and asyncpg's type introspection) are what made five worse
    # before; with none there is no churn.
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, pool_size=pool_size, **kwargs)
    _count_round_trips(engine, begin=True)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, lock_timeout_ms: int) -> None:
    # The driver's own transaction handling is switched off so that "begin" below is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A deleted row's bytes are overwritten with zeros, not left in a free page or cell of the
    # file where anyone who copies it could read them (an erased case, a revoked data key).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
    # Each connection keeps its own page cache (2 MB by default), up to fifteen connections in
    # a pool under load; a page not in it is read from the OS's cache. 512 kB each saved 2-5 MB
    # of a service's resident memory at 60-75 cases/s, at no CPU the bench could see.
    cursor.execute("PRAGMA cache_size=-512")
    cursor.close()


class _WriteQueue:
    """SQLite lets one transaction write at a time. A process's writers used to meet in SQLite's
    busy handler, which sleeps 1, 2, 5 ... up to 100 ms between tries whatever the holder does:
    at 20 cases/s a partner's request then waited up to 3 s (p99). Here they queue in the order
    they came, and each begins the moment the one before it commits or rolls back (at the
    latest when it gives its connection back to the pool); its BEGIN may still wait out the
    last millisecond of that COMMIT in the busy handler. A writer that waits longer than the
    lock timeout fails as it would in the busy handler (a transient error, retried). Another
    process on the same file still meets this one in the busy handler."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._locks = weakref.WeakKeyDictionary()
        # the pool entry whose connection has the turn, and the lock it took
        self._holder: tuple[object, asyncio.Lock] | None = None

    def begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get("jejaring_read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        entry = conn.connection._connection_record  # the same until it is checked in
        if self._holder is None or self._holder[0] is not entry:
            loop = asyncio.get_running_loop()
            lock = self._locks.setdefault(loop, asyncio.Lock())
            try:
                await_only(asyncio.wait_for(lock.acquire(), self._timeout_s))
            except TimeoutError as exc:
                raise OperationalError("BEGIN IMMEDIATE", None, _busy()) from exc
            self._holder = (entry, lock)
        # else: a second transaction on the connection before it went back keeps the turn
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def done(self, conn: Connection) -> None:
        try:
            entry = conn.connection._connection_record
        except Exception:  # an invalidated connection: its checkin ends the turn
            return
        self.end(None, entry)

    def end(self, _dbapi_connection: Any, entry: object) -> None:
        if self._holder is not None and self._holder[0] is entry:
            lock = self._holder[1]
            self._holder = None
            lock.release()


_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def read_only(session: AsyncSession) -> None:
    """Begin `session`'s transaction as one that only reads; call before its first statement,
    and write nothing in it.

    On SQLite it then does not take the database's single write lock, so reads on every
    request (a token's user, unsent outbox rows) do not queue behind the service's writes (a
    write may fail as busy, a transient error). On PostgreSQL its statements run without a
    transaction (autocommit): under READ COMMITTED each statement sees what was committed when
    it began either way, and the BEGIN and ROLLBACK, two round trips, are saved (a write
    would commit at once)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options=_AUTOCOMMIT)
    else:
        await session.connection(execution_options={"jejaring_read_only": True})


async def one_statement(session: AsyncSession) -> None:
    """`session`'s transaction is to be one statement that writes: on PostgreSQL it runs on
    its own (autocommit, atomic as any statement), without the BEGIN and COMMIT round trips;
    on SQLite it is a transaction as any other, in its turn in the write queue. Call before
    the statement."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options=_AUTOCOMMIT)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _busy() -> sqlite3.OperationalError:
    """What SQLite raises when another writer holds the database past the lock timeout."""
    import sqlite3  # only a SQLite database gets here

    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    busy.sqlite_errorname = "SQLITE_BUSY"
    return busy


# SQLite's primary result codes that a retry may get past: another writer or reader holds the
# database (BUSY 5, LOCKED 6), memory or disk is short (NOMEM 7, FULL 13), the file cannot be
# written, read or opened for now (READONLY 8, IOERR 10, CANTOPEN 14, PROTOCOL 15), or the
# statement was interrupted (INTERRUPT 9). SQLITE_ERROR (1: a missing table or column, a syntax
# error) and the constraint codes fail the same way every time. Numbers, not the sqlite3
# module's names: a process on PostgreSQL never loads SQLite's library (the launcher of
# `jejaring up` was 1 MB larger with it).
_SQLITE_TRANSIENT = frozenset({5, 6, 7, 8, 9, 10, 13, 14, 15})


def is_transient_db_error(exc: BaseException) -> bool:
    """A database error worth retrying: lost connection, lock contention, serialization."""
    if isinstance(exc, PoolTimeout | ConnectionError | OSError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlite3 = sys.modules.get("sqlite3")  # not loaded: the error is not SQLite's
        if sqlite3 is not None and isinstance(exc.orig, sqlite3.Error):
            code = getattr(exc.orig, "sqlite_errorcode", None)
            return code is not None and code & 0xFF in _SQLITE_TRANSIENT
        if isinstance(exc, OperationalError):
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        # 40001 serialization failure, 40P01 deadlock, 55P03 lock wait timed out,
        # 08* connection, 57* operator intervention (shutdown, cancel), 53* resources
        if code and (code in {"40001", "40P01", "55P03"} or code[:2] in {"08", "57", "53"}):
            return True
    return False


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and read back timezone-aware on every database.

    SQLite keeps no zone; without this its values would come back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` after each commit of `session` (once registered, it stays)."""
    sync_session = session.sync_session
    callbacks: list[Callable[[], None]] = sync_session.info.setdefault("on_commit", [])
    if not callbacks:
        event.listen(sync_session, "after_commit", _run_commit_callbacks)
    if callback not in callbacks:
        callbacks.append(callback)


def _run_commit_callbacks(sync_session: Any) -> None:
    for callback in sync_session.info.get("on_commit", []):
        callback()


def _on_conflict(table: TableClause, clause: str) -> Insert:
    statement = Insert(table)
    # Where the dialects put their own ON CONFLICT (after VALUES, before RETURNING); as text it
    # is part of the statement's cache key.
    statement._post_values_clause = text(clause)
    return statement


# Both build SQL that SQLite and PostgreSQL share. Unlike the dialects' own
# `insert().on_conflict_*()`, which SQLAlchemy compiles anew on every execution (those
# constructs opt out of its statement cache), these compile once per set of columns; they run
# for every consumed message. Pass the rows as execute parameters; `rowcount` is 0 when nothing
# was written, and RETURNING lists only the rows written.


def insert_or_ignore(table: TableClause) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING`."""
    return _on_conflict(table, "ON CONFLICT DO NOTHING")


def upsert_if_newer(table: TableClause, *, key: str, version: str) -> Insert:
    """`INSERT …`, or on a conflict of `key` overwrite every column, but only where the stored
    row's `version` is lower: an older or repeated event never overwrites a newer one.
    Every column of the table must be given."""
    columns = [c.name for c in table.columns if c.name != key]
    return upsert(
        table,
        key=key,
        assignments={c: f"excluded.{c}" for c in columns},
        where=f"{table.name}.{version} < excluded.{version}",
    )


def upsert(
    table: TableClause, *, key: str, assignments: dict[str, str], where: str | None = None
) -> Insert:
    """`INSERT …`, or on a conflict of `key` `UPDATE SET column = expression` for each of
    `assignments` (SQL shared by both databases: `excluded.c` is the row given, `table.c` the
    row stored), where `where` holds if given."""
    update = ", ".join(f"{column} = {expression}" for column, expression in assignments.items())
    condition = f" WHERE {where}" if where else ""
    return _on_conflict(table, f"ON CONFLICT ({key}) DO UPDATE SET {update}{condition}")
