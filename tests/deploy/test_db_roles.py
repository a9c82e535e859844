"""deploy/postgres/init-databases.sh on a real PostgreSQL: one role per service, each reaching
only its own database (the script as the postgres image runs it, through psql)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from jejaring.shared.secrets import new_secret

pytestmark = pytest.mark.postgres

PG_INIT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-databases.sh"
SERVICES = ("intake", "referral", "notify", "report", "web")


def admin_url() -> URL:
    return make_url(os.environ["JEJARING_TEST_DATABASE_URL"])


def run_script(prefix: str, passwords: dict[str, str]) -> None:
    """The init script against the test server, as its superuser, with a name prefix."""
    admin = admin_url()
    env = {
        **os.environ,
        "PGHOST": admin.host or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "PGPASSWORD": admin.password or "",
        "POSTGRES_USER": admin.username or "postgres",
        "JEJARING_DB_PREFIX": prefix,
        **{f"{s.upper()}_DB_PASSWORD": p for s, p in passwords.items()},
    }
    done = subprocess.run(
        ["bash", str(PG_INIT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def admin_psql(sql: str) -> None:
    admin = admin_url()
    env = {**os.environ, "PGPASSWORD": admin.password or ""}
    subprocess.run(
        [
            *("psql", "-h", admin.host or "127.0.0.1", "-p", str(admin.port or 5432)),
            *("-U", admin.username or "postgres", "-d", "postgres", "-qXc", sql),
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )


async def connect(role: str, password: str, database: str) -> asyncpg.Connection:
    admin = admin_url()
    return await asyncpg.connect(
        user=role, password=password, host=admin.host, port=admin.port, database=database
    )


@pytest.fixture
def roles() -> Iterator[tuple[str, dict[str, str]]]:
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {s: new_secret() for s in SERVICES}
    run_script(prefix, passwords)
    try:
        yield prefix, passwords
    finally:
        for service in SERVICES:
            admin_psql(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)')
            admin_psql(f'DROP ROLE IF EXISTS "{prefix}{service}"')


async def test_each_role_reaches_its_own_database_and_no_other(
    roles: tuple[str, dict[str, str]],
) -> None:
    prefix, passwords = roles
    for service in SERVICES:
        own = await connect(prefix + service, passwords[service], prefix + service)
        try:
            await own.execute("CREATE TABLE victims_probe (id int PRIMARY KEY, name text)")
            await own.execute("INSERT INTO victims_probe VALUES (1, 'x')")
            assert await own.fetchval("SELECT count(*) FROM victims_probe") == 1
            rights = await own.fetchrow(
                "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                "WHERE rolname = current_user"
            )
            assert tuple(rights) == (False, False, False), service
        finally:
            await own.close()
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await connect(prefix + service, passwords[service], prefix + other)


async def test_running_the_script_again_changes_the_password(
    roles: tuple[str, dict[str, str]],
) -> None:
    """Run again by hand after a password changes in .env: the new one works, the old not."""
    prefix, passwords = roles
    changed = {**passwords, "notify": new_secret()}
    run_script(prefix, changed)
    conn = await connect(prefix + "notify", changed["notify"], prefix + "notify")
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await connect(prefix + "notify", passwords["notify"], prefix + "notify")
