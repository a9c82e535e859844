"""`jejaring init`: every secret of a deployment generated once, into `.env` (mode 0600).

`.env.example` is the template: each line whose value holds a placeholder (`change-me-…`) is a
secret to generate; every other line is copied as it is. Values already in `.env` are kept
(running it again generates only what is missing or still a placeholder), and so are lines the
operator added. The same rule as the services' (`jejaring.shared.secrets`) decides what is real.

Some values are not secrets but follow from one (`DERIVED`): they are recomputed at every run,
so they always match the secret they come from, whether the template names them or not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from jejaring.shared.secrets import min_length, new_secret, placeholder_in, weakness
from jejaring.shared.settings import IDENTITY_KEY_ENV, IDENTITY_PUBLIC_KEY_ENV
from jejaring.shared.web.identity import public_key_of

# A value that follows from a secret: (its name, the secret's, how it follows). Referral and
# notify get the identity key's public key and never the key itself.
DERIVED = [(IDENTITY_PUBLIC_KEY_ENV, IDENTITY_KEY_ENV, public_key_of)]


def parse(text: str) -> dict[str, str]:
    """The NAME=value lines of an env file (comments and blank lines left out)."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if sep and name and not name.startswith("#"):
            values[name] = value.strip()
    return values


def secret_names(example: str) -> list[str]:
    """The variables the template marks as secrets to generate (a placeholder value)."""
    return [name for name, value in parse(example).items() if placeholder_in(value)]


@dataclass
class Filled:
    text: str
    generated: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)  # kept as the operator set them, but weak
    derived: list[str] = field(default_factory=list)  # recomputed with a new value


def fill(example: str, existing: Mapping[str, str]) -> Filled:
    """`.env`'s new text: the template's lines, each secret generated unless already set."""
    secrets = set(secret_names(example))
    result = Filled(text="")
    lines = []
    values: dict[str, str] = {}
    at: dict[str, int] = {}  # each variable's line
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name or name.startswith("#"):
            lines.append(line)
            continue
        if name in existing:
            value = existing[name]
        if name in secrets and (not value or placeholder_in(value)):
            value = new_secret()
            result.generated.append(name)
        elif name in secrets and weakness(value, min_length(name)):
            result.weak.append(name)
        values[name], at[name] = value, len(lines)
        lines.append(f"{name}={value}")
    for name, source, derive in DERIVED:
        if not values.get(source):
            continue
        value = derive(values[source])
        if existing.get(name) != value:
            result.derived.append(name)
        if name in at:  # the template's line
            lines[at[name]] = f"{name}={value}"
        else:  # right after the secret it follows from
            lines.insert(at[source] + 1, f"{name}={value}")
            at = {n: i + (i > at[source]) for n, i in at.items()} | {name: at[source] + 1}
        values[name] = value
    extra = [f"{name}={value}" for name, value in existing.items() if name not in values]
    if extra:
        lines += ["", "# Kept from the previous .env (not in .env.example)", *extra]
    result.text = "\n".join(lines) + "\n"
    return result


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by its owner only (0600) from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def init_env(example: Path, env: Path) -> Filled:
    """Write `env` from the template `example`, keeping what `env` already holds."""
    existing = parse(env.read_text(encoding="utf-8")) if env.exists() else {}
    filled = fill(example.read_text(encoding="utf-8"), existing)
    write_private(env, filled.text)
    return filled


def check(example: str, values: Mapping[str, str]) -> list[str]:
    """Each secret of the template that `values` lacks or holds weak, with the reason."""
    problems = []
    for name in secret_names(example):
        value = values.get(name)
        if not value:
            problems.append(f"{name} is missing")
        elif reason := weakness(value, min_length(name)):
            problems.append(f"{name} {reason}")
    for name, source, derive in DERIVED:
        secret = values.get(source)
        if (
            secret
            and not weakness(secret, min_length(source))
            and values.get(name) != derive(secret)
        ):
            state = "does not follow from" if values.get(name) else "is missing for"
            problems.append(f"{name} {state} {source}: run `jejaring init`")
    return problems


def run(
    example: Path,
    env: Path,
    *,
    check_only: bool,
    out: TextIO,
    err: TextIO,
    compose: Path | None = None,
) -> int:
    """`jejaring init` (exit code): fill `env`, or with `check_only` refuse weak secrets and,
    given the `compose` file, any service whose production settings refuse what it gets."""
    if not example.is_file():
        print(f"jejaring init: {example} not found (run it where .env.example is)", file=err)
        return 2
    template = example.read_text(encoding="utf-8")
    if check_only:  # the values the process was given, over those of the file (if any)
        values = parse(env.read_text(encoding="utf-8")) if env.is_file() else {}
        problems = check(template, {**values, **os.environ})
        if problems:
            print(f"jejaring init: not every secret is real: {'; '.join(problems)}", file=err)
            return os.EX_CONFIG
        print(f"every secret of {example.name} is set and real", file=out)
        if compose is not None:
            from jejaring.cli.compose import first_problem

            if problem := first_problem(compose, {**values, **os.environ}):
                print(f"jejaring init: {problem}", file=err)
                return os.EX_CONFIG
            print(f"every service of {compose.name} accepts its production settings", file=out)
        return 0
    filled = init_env(example, env)
    if filled.generated:
        print(f"{env}: generated {', '.join(filled.generated)} (mode 0600)", file=out)
    else:
        print(f"{env}: every secret was already set; nothing generated (mode 0600)", file=out)
    if filled.derived:
        print(f"{env}: {' '.join(filled.derived)} derived anew", file=out)
    if filled.weak:
        print(
            f"warning: kept weak values, production refuses them: {', '.join(filled.weak)}",
            file=err,
        )
    return 0
