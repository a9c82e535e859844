"""The one rule for secrets outside development: no placeholder, long enough, not low-entropy.

Every secret setting of every process goes through `refuse_weak_secrets` (called once, from
`ProcessSettings`): each `SecretStr` field and the password inside the database URL. `jejaring
init` uses the same rule to know which values of `.env` it must generate.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter

from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Words that mark a value as not chosen by anyone: .env.example's are all `change-me-…`.
PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "placeholder", "example")
DEFAULT_MIN_LENGTH = 16
# Per field name; secrets a provider chooses (SMTP, SMS gateway) may be shorter than ours.
MIN_LENGTH = {"admin_token": 24, "identity_key": 32, "smtp_password": 12}
MIN_DISTINCT = 10
# Shannon entropy of the value's own characters: random URL-safe text has 4 or more bits each;
# a long value made of a few characters repeated has far fewer.
MIN_BITS_PER_CHARACTER = 3.0


def new_secret() -> str:
    """A fresh random secret: 43 URL-safe characters (256 bits), safe inside a URL."""
    return secrets.token_urlsafe(32)


def placeholder_in(value: str) -> str | None:
    """The placeholder word `value` contains, if any."""
    lowered = value.lower()
    return next((word for word in PLACEHOLDERS if word in lowered), None)


def bits_per_character(value: str) -> float:
    """Shannon entropy of the character frequencies in `value`."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def min_length(name: str) -> int:
    """The minimum length of a secret, by its field or variable name (INTAKE_ADMIN_TOKEN: 24)."""
    lowered = name.lower()
    return next((n for f, n in MIN_LENGTH.items() if lowered.endswith(f)), DEFAULT_MIN_LENGTH)


def weakness(value: str, minimum: int = DEFAULT_MIN_LENGTH) -> str | None:
    """Why `value` is not a real secret (never repeating it), or None when it is one."""
    if word := placeholder_in(value):
        return f"is a placeholder (contains '{word}'): `jejaring init` generates a real one"
    if len(value) < minimum:
        return f"is {len(value)} characters long, at least {minimum} random characters needed"
    if (distinct := len(set(value))) < MIN_DISTINCT:
        return f"is low-entropy: only {distinct} different characters ({MIN_DISTINCT}+ needed)"
    if (bits := bits_per_character(value)) < MIN_BITS_PER_CHARACTER:
        return (
            f"is low-entropy: about {bits:.1f} bits per character "
            f"({MIN_BITS_PER_CHARACTER:.0f}+ needed; random text has 4 or more)"
        )
    return None


def env_name(settings_cls: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from (its alias, or prefix + name)."""
    alias = settings_cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        alias = next((c for c in alias.choices if isinstance(c, str)), None)
    if isinstance(alias, str) and alias != field:
        return alias.upper()
    return (settings_cls.model_config.get("env_prefix", "") + field).upper()


def database_password(url: str) -> str | None:
    """The password inside a SQLAlchemy URL (None for SQLite, a socket, or no URL at all)."""
    try:
        return make_url(url).password
    except ArgumentError:
        return None  # not a URL: the engine refuses it with its own message


def refuse_weak_secrets(settings: BaseSettings) -> None:
    """Raise ValueError naming every weak secret setting (its environment variable) and why."""
    cls = type(settings)
    problems = []
    for field in cls.model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr):
            if reason := weakness(value.get_secret_value(), min_length(field)):
                problems.append(f"{env_name(cls, field)} {reason}")
        elif field == "database_url" and isinstance(value, str):
            password = database_password(value)
            if password is not None and (reason := weakness(password)):
                problems.append(f"{env_name(cls, field)}: its password {reason}")
    if problems:
        raise ValueError("; ".join(problems))
