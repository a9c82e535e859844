"""PostgreSQL databases for tests and the benchmark: created, dropped, made fresh again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import make_url


async def admin_connection(url: str) -> Any:
    """A connection to the server of `url` (its database, or `postgres` when it names none),
    with `url`'s credentials: a role that may create and drop databases."""
    import asyncpg

    u = make_url(url)
    return await asyncpg.connect(
        user=u.username,
        password=u.password,
        host=u.host,
        port=u.port or 5432,
        database=u.database or "postgres",
    )


def _other_than(server_url: str, name: str) -> str:
    """`server_url`, or its server's `postgres` database when it names database `name` (one
    cannot drop the database one is connected to)."""
    u = make_url(server_url)
    if u.database in (None, "", name):
        u = u.set(database="postgres")
    return u.render_as_string(hide_password=False)


async def _execute(server_url: str, name: str, sql: str) -> None:
    conn = await admin_connection(_other_than(server_url, name))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url`; its URL."""
    await _execute(server_url, name, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, even with sessions still connected to it."""
    await _execute(server_url, name, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def recreate_database(url: str) -> None:
    """Drop the database `url` names and create it again, empty."""
    name = make_url(url).database
    assert name, f"no database in {make_url(url)!r}"
    await drop_database(url, name)
    await create_database(url, name)
