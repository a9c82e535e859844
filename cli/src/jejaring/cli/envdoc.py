"""deploy/env/<service>.env.example: every setting of a service, its default and its meaning,
generated from the service's settings class (`jejaring env-example`), so the documentation
cannot drift from the code (tests/deploy/test_compose.py fails when a committed file is stale).
Settings docker-compose.yml sets itself say so, and from which .env variable."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from jejaring.cli.compose import environment, settings_classes, uses
from jejaring.shared.secrets import env_name
from jejaring.shared.settings import ProcessSettings

WIDTH = 98


def shown(value: Any) -> str:
    """A default as one would write it in an env file."""
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Path) and value.is_absolute():  # a file inside the installed package
        return ""
    return str(value)


def comment(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="# ", subsequent_indent="# ")


def render(name: str, settings_cls: type[ProcessSettings], compose: Mapping[str, Any]) -> str:
    """The example env file of service `name`."""
    given = environment(compose["services"][name])
    lines = [
        *comment(
            f"Every setting of {name}, with its default. Copy this file to deploy/env/{name}.env "
            "(never committed; compose reads it if present) and uncomment what you change. "
            "Generated from the settings class by `jejaring env-example`: do not edit by hand."
        ),
    ]
    for field, info in settings_cls.model_fields.items():
        if field == "service" or info.exclude:  # the process's name, not a setting
            continue
        var = env_name(settings_cls, field)
        lines.append("")
        if info.description:
            lines += comment(info.description)
        if isinstance(info.default, Path) and info.default.is_absolute():
            lines += comment(f"Default: {info.default.name}, shipped with Jejaring")
        if var in given:
            sources = sorted(uses(given[var]))
            lines += comment(
                f"{var}: set by docker-compose.yml from .env ({', '.join(sources)})"
                if sources
                else f"{var}: fixed by docker-compose.yml ({given[var]})"
            )
        else:
            lines.append(f"# {var}={shown(info.default)}")
    return "\n".join(lines) + "\n"


def write_all(compose: Mapping[str, Any], out: Path) -> list[Path]:
    """Write every service's example into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, settings_cls in settings_classes().items():
        path = out / f"{name}.env.example"
        path.write_text(render(name, settings_cls, compose), encoding="utf-8")
        path.chmod(0o644)  # documentation, no secret (the CLI's umask is 077)
        written.append(path)
    return written
