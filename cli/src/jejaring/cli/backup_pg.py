"""PostgreSQL for backups: pg_dump and pg_restore of one database, and the few queries a restore
asks first (tables, other sessions). The password goes to the tools in PGPASSWORD, never on a
command line."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from jejaring.shared import db


class PostgresError(Exception):
    """A PostgreSQL tool or query failed; the message names the database."""


def tool(name: str) -> str:
    """pg_dump or pg_restore: from `pg_config --bindir` when there is one, else from PATH."""
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and (candidate := Path(bindir) / name).is_file():
            return str(candidate)
    if found := shutil.which(name):
        return found
    raise PostgresError(f"{name} not found: install the PostgreSQL client (as the image has it)")


def libpq_env(url: str) -> dict[str, str]:
    """The connection as libpq variables."""
    u = make_url(url)
    env = {**os.environ, "PGDATABASE": u.database or "", "PGCONNECT_TIMEOUT": "10"}
    for variable, value in (
        ("PGHOST", u.host),
        ("PGPORT", u.port),
        ("PGUSER", u.username),
        ("PGPASSWORD", u.password),
        ("PGSSLMODE", u.query.get("sslmode") or u.query.get("ssl")),
    ):
        if value:
            env[variable] = str(value)
    return env


def _run(name: str, url: str, args: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [tool(name), *args], input=stdin, capture_output=True, env=libpq_env(url), check=False
    )
    if done.returncode:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise PostgresError(f"{name} {make_url(url).database}: {' / '.join(reason[-3:])}")
    return done.stdout


async def _query(url: str, sql: str) -> list[Any]:
    engine = db.create_engine(_async_url(url), pool_size=1)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).scalars().all())
    except (SQLAlchemyError, OSError) as exc:
        raise _unreachable(url, exc) from None
    finally:
        await engine.dispose()


async def _execute(url: str, *statements: str) -> None:
    engine = db.create_engine(_async_url(url), pool_size=1)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    except (SQLAlchemyError, OSError) as exc:
        raise _unreachable(url, exc) from None
    finally:
        await engine.dispose()


def _unreachable(url: str, exc: Exception) -> PostgresError:
    reason = getattr(exc, "orig", None) or exc  # the driver's words, without the statement
    return PostgresError(f"database {make_url(url).database}: {type(reason).__name__}: {reason}")


def _async_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def dump(url: str, *, without_data_of: str) -> tuple[bytes, list[str]]:
    """`pg_dump --format=custom` of the database, into memory, and its Alembic revisions; the
    table `without_data_of` is in it empty (its definition only)."""
    args = ["--format=custom", "--no-owner", "--no-privileges"]
    data = _run("pg_dump", url, [*args, f"--exclude-table-data=public.{without_data_of}"])
    return data, sorted(asyncio.run(_query(url, "SELECT version_num FROM alembic_version")))


def rows(url: str, table: str) -> list[dict[str, Any]] | None:
    """Every row of `table` as PostgreSQL writes it in JSON (bytea as \\x hex, times in ISO
    8601), or None when the database has no such table."""
    exists = f"SELECT to_regclass('public.{table}') IS NOT NULL"
    if asyncio.run(_query(url, exists)) != [True]:
        return None
    everything = f"SELECT row_to_json(t)::text FROM public.{table} t"  # noqa: S608 - a constant
    found = asyncio.run(_query(url, everything))
    return [json.loads(row) for row in found]


async def _insert_rows(url: str, table: str, found: list[dict[str, Any]]) -> tuple[int, int]:
    insert = text(
        f"INSERT INTO public.{table} "  # noqa: S608 - a constant table name
        f"SELECT * FROM json_populate_record(NULL::public.{table}, CAST(:row AS json))"
    )
    inserted = skipped = 0
    engine = db.create_engine(_async_url(url), pool_size=1)
    try:
        async with engine.begin() as conn:
            for row in found:
                try:
                    async with conn.begin_nested():
                        await conn.execute(insert, {"row": json.dumps(row)})
                    inserted += 1
                except IntegrityError:  # its row is not in this database (a later one)
                    skipped += 1
    except (SQLAlchemyError, OSError) as exc:
        raise _unreachable(url, exc) from None
    finally:
        await engine.dispose()
    return inserted, skipped


def insert_rows(url: str, table: str, found: list[dict[str, Any]]) -> tuple[int, int]:
    """Put `found` back into `table` in one transaction: (inserted, skipped), a row that refers
    to one the database does not hold (a foreign key) being skipped."""
    return asyncio.run(_insert_rows(url, table, found))


def tables(url: str) -> int:
    """How many tables the database's public schema holds."""
    (count,) = asyncio.run(
        _query(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    )
    return int(count)


def other_sessions(url: str) -> int:
    """Sessions on the database other than this one (the services', wherever they run)."""
    (count,) = asyncio.run(
        _query(
            url,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    )
    return int(count)


def restore(url: str, data: bytes, *, then: str) -> None:
    """Empty the public schema, pg_restore into it in one transaction, then run `then` if the
    database has an outbox."""
    asyncio.run(_execute(url, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"))
    args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run("pg_restore", url, [*args, "-d", make_url(url).database or ""], stdin=data)
    outbox = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'outbox'"
    if asyncio.run(_query(url, outbox)) == [1]:
        asyncio.run(_execute(url, then))
