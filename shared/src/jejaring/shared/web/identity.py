"""People's identity across services: short-lived signed access tokens.

Intake signs a person in and issues an access token; every service verifies it with the key
they share (`JEJARING_IDENTITY_KEY`) and so knows which person acts, for scoping and for the
record, without asking intake. A token is a JWT (HS256, PyJWT) that lives under a minute; the web
app refreshes it while the person's session lasts. The API tokens of partner systems are opaque
random strings checked by the service that issued them, as before; a JWT is told apart from them
by its two dots (`secrets.token_urlsafe` never makes a dot).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

import jwt

ALGORITHM = "HS256"
ISSUER = "jejaring-intake"
AUDIENCE = "jejaring"
# A person deactivated loses access at every service within a minute, without a revocation
# list: a token lives at most MAX_LIFETIME on the clock of the service that checks it. The
# services' clocks must agree within CLOCK_SKEW (one host's clock in the embedded stack and in
# compose; NTP across hosts): a service whose clock lags intake's by d accepts a token until
# MAX_LIFETIME + d after its issue, 60 s at most within the skew. A lag beyond the skew shows:
# that service refuses fresh tokens as issued in the future.
MAX_LIFETIME = dt.timedelta(seconds=50)
DEFAULT_LIFETIME = MAX_LIFETIME
CLOCK_SKEW = dt.timedelta(seconds=10)


class PersonRole(StrEnum):
    """What a person may do. Officers are bound to one kelurahan, partner staff to one partner."""

    OFFICER = "officer"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    PARTNER_STAFF = "partner_staff"


class InvalidPersonToken(Exception):
    """The token is not one intake signed, or it has expired. The text names no claim value."""


@dataclass(frozen=True)
class Person:
    """Who acts: what a service needs to scope a request and to record who did it."""

    id: uuid.UUID
    name: str
    role: PersonRole
    kelurahan_code: str | None = None
    partner_slug: str | None = None


def looks_like_person_token(token: str) -> bool:
    """A JWT (three dot-separated parts), as opposed to an opaque API token."""
    return token.count(".") == 2


def issue(
    person: Person, *, key: str, now: dt.datetime, lifetime: dt.timedelta = DEFAULT_LIFETIME
) -> str:
    """A signed access token for `person`, valid for `lifetime` (at most MAX_LIFETIME) from
    `now`."""
    if lifetime > MAX_LIFETIME:
        raise ValueError("an access token lives at most MAX_LIFETIME")
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(person.id),
        "name": person.name,
        "role": person.role.value,
        "kel": person.kelurahan_code,
        "partner": person.partner_slug,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, *, key: str, now: dt.datetime) -> Person:
    """The person a token names, if intake signed it and it has not expired at `now`."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Times are checked against the service's own clock (injected in tests), not PyJWT's.
            options={
                "require": ["exp", "iat", "sub", "role"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        if int(claims["exp"]) <= now.timestamp():
            raise InvalidPersonToken("expired")
        if int(claims["iat"]) > now.timestamp() + CLOCK_SKEW.total_seconds():
            raise InvalidPersonToken("issued in the future")
        return Person(
            id=uuid.UUID(str(claims["sub"])),
            name=str(claims.get("name") or ""),
            role=PersonRole(claims["role"]),
            kelurahan_code=claims.get("kel"),
            partner_slug=claims.get("partner"),
        )
    except InvalidPersonToken:
        raise
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidPersonToken(type(exc).__name__) from None
