"""The image can back up compose's databases: its pg_dump is of compose PostgreSQL's major
version (an older pg_dump refuses a newer server), and compose's backup step reaches the very
databases the services use, each as its own role."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_pg_dump_is_of_compose_postgresql_major_version() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    server = compose["services"]["postgres"]["image"]
    major = re.fullmatch(r"postgres:(\d+)\.[\w.-]+", server)
    assert major, f"compose's PostgreSQL image {server} has no major version"
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    client = re.search(r"^FROM postgres:(\d+)\.\S+ AS pgclient$", dockerfile, re.MULTILINE)
    assert client, "deploy/Dockerfile has no pgclient stage"
    assert client.group(1) == major.group(1)
    for tool in ("pg_dump", "pg_restore"):
        assert f"/usr/lib/postgresql/{major.group(1)}/bin/{tool}" in dockerfile
    final_path = re.findall(r"^ENV PATH=(\S+)", dockerfile, re.MULTILINE)[-1]
    assert "/opt/postgresql/bin" in final_path.split(":")


def test_compose_backup_step_uses_each_service_database_and_role() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    backup = services["backup"]["environment"]
    for name in ("intake", "referral", "notify", "web"):
        variable = f"{name.upper()}_DATABASE_URL"
        assert backup[variable] == services[name]["environment"][variable]
        assert backup[variable].startswith(f"postgresql+asyncpg://{name}:")
    assert "./backups:/backups" in services["backup"]["volumes"]
    assert services["backup"]["profiles"], "backup must not start with `docker compose up`"
