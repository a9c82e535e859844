"""Fixtures for every test in the repository: a real nats-server and real databases.

- `nats_server`: a fresh nats-server process per test (free ports, its own JetStream
  directory). With JEJARING_TEST_CONTAINERS=1 and a Docker engine answering, a NATS container
  instead; with that flag and no engine the test fails: a server is never silently skipped.
- `database_url`: a fresh, empty database per test: SQLite always, and PostgreSQL as well when
  JEJARING_TEST_DATABASE_URL names one (each test gets its own database created on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from jejaring.shared.messaging.natsserver import PORT_RANGE_ENV, NatsServer
from jejaring.testing import pg

PG_URL = os.environ.get("JEJARING_TEST_DATABASE_URL", "").strip()
USE_CONTAINERS = os.environ.get("JEJARING_TEST_CONTAINERS") == "1"

# `make test` runs the tests in parallel workers (pytest-xdist). Each worker chooses the ports
# of its servers from a thousand of its own, below the kernel's ephemeral ports: otherwise two
# workers may pick the same free port before either binds it, and one's client then talks to
# the other's server.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    _low = 20000 + 1000 * (int(_WORKER[2:]) % 12)
    os.environ.setdefault(PORT_RANGE_ENV, f"{_low}-{_low + 999}")

DB_KINDS = ["sqlite"] + (["postgresql"] if PG_URL or USE_CONTAINERS else [])


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def containers() -> Iterator[dict[str, str]]:
    """Servers from testcontainers, when asked for (JEJARING_TEST_CONTAINERS=1)."""
    if not USE_CONTAINERS:
        yield {}
        return
    if not _docker_answers():
        pytest.fail("JEJARING_TEST_CONTAINERS=1 but no Docker engine answers `docker info`")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.postgres import PostgresContainer

    nats_c = DockerContainer("nats:2.12.8").with_command("-js -m 8222").with_exposed_ports(4222)
    pg_c = PostgresContainer("postgres:16.6", driver="asyncpg")
    with nats_c, pg_c:
        wait_for_logs(nats_c, "Server is ready")
        yield {
            "nats": f"nats://{nats_c.get_container_host_ip()}:{nats_c.get_exposed_port(4222)}",
            "postgresql": pg_c.get_connection_url(),
        }


@pytest.fixture
def nats_server(tmp_path: Path, containers: dict[str, str]) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on disk, stopped after the test."""
    if containers:
        pytest.fail("container mode shares one NATS server; use nats_url instead")
    server = NatsServer(store_dir=tmp_path / "jetstream", log_file=tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(request: pytest.FixtureRequest, containers: dict[str, str]) -> str:
    if containers:
        return containers["nats"]
    server: NatsServer = request.getfixturevalue("nats_server")
    return server.url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await nats.connect(
        nats_url, name="test", max_reconnect_attempts=-1, reconnect_time_wait=0.2
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def js(nc: NATS) -> JetStreamContext:
    return nc.jetstream(timeout=5)


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"jt_{uuid.uuid4().hex[:12]}"
    return name, await pg.create_database(admin_url, name)


@pytest.fixture(params=DB_KINDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, containers: dict[str, str]
) -> AsyncIterator[str]:
    """A fresh, empty database: SQLite, and PostgreSQL when one is configured."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin = _admin_url(containers)
    name, url = await _create_pg_database(admin)
    try:
        yield url
    finally:
        await asyncio.sleep(0)
        await pg.drop_database(admin, name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests say plainly why they did not run when no PostgreSQL is given."""
    if PG_URL or USE_CONTAINERS:
        return
    reason = "PostgreSQL-only: set JEJARING_TEST_DATABASE_URL (bash .ci/run does)"
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@contextlib.asynccontextmanager
async def _service_databases(
    kind: str, tmp_path: Path, admin: str
) -> AsyncIterator[dict[str, str]]:
    """One fresh database per process (intake, referral, notify, report, web), as each owns its
    own."""
    names = ("intake", "referral", "notify", "report", "web")
    if kind == "sqlite":
        yield {n: f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}" for n in names}
        return
    created = {n: await _create_pg_database(admin) for n in names}
    try:
        yield {n: url for n, (_, url) in created.items()}
    finally:
        for db_name, _ in created.values():
            await pg.drop_database(admin, db_name)


def _admin_url(containers: dict[str, str]) -> str:
    admin = containers.get("postgresql") or PG_URL
    return (
        admin
        if admin.startswith("postgresql+asyncpg")
        else admin.replace("postgresql://", "postgresql+asyncpg://", 1)
    )


@pytest.fixture(params=DB_KINDS)
async def service_dbs(
    request: pytest.FixtureRequest, tmp_path: Path, containers: dict[str, str]
) -> AsyncIterator[dict[str, str]]:
    """One fresh database per service, on each database kind."""
    async with _service_databases(request.param, tmp_path, _admin_url(containers)) as dbs:
        yield dbs


@pytest.fixture
async def system_dbs(tmp_path: Path, containers: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """One database per service for whole-system tests: PostgreSQL when configured (as in CI),
    SQLite files otherwise."""
    kind = "postgresql" if PG_URL or containers else "sqlite"
    async with _service_databases(kind, tmp_path, _admin_url(containers)) as dbs:
        yield dbs
