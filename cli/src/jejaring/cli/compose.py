"""What docker compose gives each service, computed from the project's own files
(docker-compose.yml, the values of .env, deploy/env/<service>.env), and whether each service's
production settings accept it. `jejaring init --check --compose …` (compose's init one-shot)
runs this before any service starts, so a fresh `.env` stops `docker compose up` with one line
naming the first setting to fix instead of a service that starts and reaches nobody."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from jejaring.cli.init import parse
from jejaring.shared.settings import ProcessSettings
from jejaring.shared.web.serve import settings_problems

# The forms docker-compose.yml uses: ${VAR}, ${VAR:-default}, ${VAR:?message}, $$.
EXPANSION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


class ComposeRefusal(ValueError):
    """docker compose itself would refuse (a `${VAR:?…}` unset, a required env_file missing)."""


def settings_classes() -> dict[str, type[ProcessSettings]]:
    """Each compose service that runs Jejaring code, to its settings class."""
    from jejaring.intake.settings import IntakeSettings
    from jejaring.notify.settings import NotifySettings
    from jejaring.referral.settings import ReferralSettings
    from jejaring.report.settings import ReportSettings
    from jejaring.web.settings import WebSettings

    return {
        "intake": IntakeSettings,
        "referral": ReferralSettings,
        "notify": NotifySettings,
        "report": ReportSettings,
        "web": WebSettings,
    }


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ComposeRefusal(f"{path} is not a compose file")
    return data


def environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, in either the mapping or the list form, uninterpolated."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {k: None if v is None else str(v) for k, v in env.items()}
    return {name: value if sep else None for name, sep, value in (e.partition("=") for e in env)}


def uses(value: str | None) -> set[str]:
    """The .env variables a compose value interpolates."""
    return {m.group(1) for m in EXPANSION.finditer(value or "") if m.group(1)}


def interpolate(value: str, dotenv: Mapping[str, str]) -> str:
    """`value` as docker compose expands it with `dotenv`; a `:?` with no value refuses."""

    def expand(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, form, rest = m.groups()
        if dotenv.get(name):
            return dotenv[name]
        if form == ":?":
            raise ComposeRefusal(f"{name} is not set in .env: {rest}")
        return rest or ""

    return EXPANSION.sub(expand, value)


def container_env(
    compose: Mapping[str, Any], name: str, dotenv: Mapping[str, str], project: Path | None = None
) -> dict[str, str]:
    """The variables service `name` starts with (empty ones included: the settings ignore
    them). With `project`, its env_file entries are read there (then `environment` overrides
    them, as compose does) and paths the service sees through a bind mount of the project
    are given as this machine's paths, so the settings can check the files exist."""
    service = compose["services"][name]
    env: dict[str, str] = {}
    if project is not None:
        for entry in service.get("env_file") or []:
            path, required = (
                (entry, True)
                if isinstance(entry, str)
                else (entry["path"], entry.get("required", True))
            )
            try:
                env.update(parse((project / path).read_text(encoding="utf-8")))
            except FileNotFoundError:
                if required:
                    raise ComposeRefusal(f"{path} is missing") from None
            except OSError as exc:  # e.g. 0600 and the image's user is not its owner
                raise ComposeRefusal(
                    f"cannot read {path} ({exc.strerror}): make it readable by the image's user "
                    f"(chmod 0644 {path}; secrets belong in .env, not there)"
                ) from None
    env.update(
        {var: interpolate(value or "", dotenv) for var, value in environment(service).items()}
    )
    if project is not None:
        for volume in service.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            inside = rest.split(":")[0]
            if not source.startswith("./") or not inside:
                continue
            for var, value in env.items():
                if value == inside or value.startswith(inside + "/"):
                    env[var] = str(project / source) + value[len(inside) :]
    return env


@contextmanager
def exactly(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ is `env` and nothing else, for a while (settings read it, as in a container)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def first_problem(compose_file: Path, dotenv: Mapping[str, str]) -> str | None:
    """None when every service's production settings accept what compose would give it;
    else one line: the first service that would not start, each reason, and the .env
    variables behind the settings it names."""
    compose = load(compose_file)
    project = compose_file.parent
    for name, settings_cls in settings_classes().items():
        try:
            env = container_env(compose, name, dotenv, project)
        except ComposeRefusal as exc:
            return f"compose refuses {name}: {exc}"
        try:
            with exactly(env):
                settings_cls()
        except ValidationError as exc:
            text = "; ".join(settings_problems(settings_cls, exc))
            behind = [
                source
                for var, value in environment(compose["services"][name]).items()
                if re.search(rf"\b{var}\b", text)
                for source in sorted(uses(value))
            ]
            where = f"set in .env: {', '.join(behind)}" if behind else f"deploy/env/{name}.env"
            return f"{name} would not start: {text} ({where})"
    return None
