"""People's identity across services: short-lived signed access tokens.

Intake signs a person in and issues an access token with its private key; every service
verifies it with the public key (`JEJARING_IDENTITY_PUBLIC_KEY`) and so knows which person acts,
for scoping and for the record, without asking intake. Only intake can sign: referral and notify
hold no secret that makes a token. A token is a JWT (RFC 7519: a compact JWS, RFC 7515, signed
with EdDSA over Ed25519, RFC 8037) that lives under a minute; the web app refreshes it while the person's session lasts. The API tokens of partner
systems are opaque random strings checked by the service that issued them, as before; a JWT is
told apart from them by its two dots (`secrets.token_urlsafe` never makes a dot).

Intake's private key is derived from its secret `JEJARING_IDENTITY_KEY`: the Ed25519 seed is
the SHA-256 of the secret's UTF-8 bytes, so one random string in `.env` stays the only thing to
generate and keep, and its public key can be recomputed from it at any time
(`jejaring identity public-key`). The public key is written as base64url (no padding) of its 32
raw bytes, as in a JWK's `x`.

The JWS is made and checked here, in a few lines over `cryptography`'s Ed25519, rather than by
PyJWT: this is the one algorithm and the one shape of token any service accepts, and PyJWT
imported every other algorithm with X.509 besides (about 3 MB of each service's memory). The
tests check it against PyJWT both ways.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Intake's signing secret (its private key is derived from it); only intake may hold it.
IDENTITY_KEY_ENV = "JEJARING_IDENTITY_KEY"
IDENTITY_PUBLIC_KEY_ENV = "JEJARING_IDENTITY_PUBLIC_KEY"

# The only algorithm a service accepts: a token signed any other way (HS256 with a key someone
# guessed or took from a service's environment, "none") is refused before its claims are read.
ALGORITHM = "EdDSA"
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
# Claims a token must carry; `iat` and `exp` as numbers.
REQUIRED = ("iss", "aud", "sub", "role", "iat", "exp")


class PersonRole(StrEnum):
    """What a person may do. Officers are bound to one kelurahan, partner staff to one partner."""

    OFFICER = "officer"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    PARTNER_STAFF = "partner_staff"
    DPO = "dpo"  # data protection officer: reads the audit trail, no case


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


def signing_key(secret: str) -> Ed25519PrivateKey:
    """Intake's private key, derived from its secret (JEJARING_IDENTITY_KEY)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(secret.encode()).digest())


def _b64(data: bytes) -> str:
    """base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """The bytes a base64url text without padding stands for; ValueError for anything else."""
    if "=" in text:
        raise ValueError("padded")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError("not base64url") from None


def _text(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_of(secret: str) -> str:
    """The public key (JEJARING_IDENTITY_PUBLIC_KEY) that verifies what `secret` signs."""
    return _text(signing_key(secret).public_key())


@functools.lru_cache(maxsize=8)
def verifying_key(public_key: str) -> Ed25519PublicKey:
    """The key a public key's text stands for; ValueError saying what it should be."""
    text = public_key.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            "is not an Ed25519 public key (base64url of 32 bytes): "
            "`jejaring identity public-key` prints it"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def canonical_public_key(public_key: str) -> str:
    """`public_key` written as `public_key_of` writes it (no padding); ValueError if it is none."""
    return _text(verifying_key(public_key))


def issue(
    person: Person, *, secret: str, now: dt.datetime, lifetime: dt.timedelta = DEFAULT_LIFETIME
) -> str:
    """An access token for `person` signed with the key derived from `secret`, valid for
    `lifetime` (at most MAX_LIFETIME) from `now`."""
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
    signed = f"{_HEADER}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{signed}.{_b64(signing_key(secret).sign(signed.encode()))}"


_HEADER = _b64(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())


def verify(token: str, *, public_key: str, now: dt.datetime) -> Person:
    """The person a token names, if the holder of `public_key`'s private key (intake) signed it
    with EdDSA and it has not expired at `now`. InvalidPersonToken says why not, naming no
    claim's value."""
    try:
        key = verifying_key(public_key)
    except ValueError:
        raise InvalidPersonToken("no public key to verify it with") from None
    claims = _verified_claims(token, key)
    if claims["exp"] <= now.timestamp():
        raise InvalidPersonToken("expired")
    if claims["iat"] > now.timestamp() + CLOCK_SKEW.total_seconds():
        raise InvalidPersonToken("issued in the future")
    try:
        return Person(
            id=uuid.UUID(str(claims["sub"])),
            name=str(claims.get("name") or ""),
            role=PersonRole(claims["role"]),
            kelurahan_code=claims.get("kel"),
            partner_slug=claims.get("partner"),
        )
    except ValueError:
        raise InvalidPersonToken("a claim is not what intake writes") from None


def _verified_claims(token: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """The claims of a compact JWS that `key` verifies: EdDSA whatever else the header says, so
    that no token chooses how it is checked (an HS256 token keyed with the public key, "none")."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidPersonToken("not a JWT")
    try:
        header = json.loads(_unb64(parts[0]))
        signature = _unb64(parts[2])
    except (ValueError, RecursionError):  # json's errors are ValueErrors; nesting too deep
        raise InvalidPersonToken("not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise InvalidPersonToken("not signed with EdDSA")
    if "crit" in header:  # extensions it would have to understand (RFC 7515, 4.1.11): none
        raise InvalidPersonToken("a critical header is not understood")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise InvalidPersonToken("the signature does not verify") from None
    try:  # read only once intake's signature says it wrote them
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, RecursionError):
        raise InvalidPersonToken("not a JWT") from None
    if not isinstance(claims, dict) or any(name not in claims for name in REQUIRED):
        raise InvalidPersonToken("a required claim is missing")
    if claims["iss"] != ISSUER:
        raise InvalidPersonToken("another issuer")
    audience = claims["aud"]
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        raise InvalidPersonToken("another audience")
    if any(
        isinstance(claims[t], bool) or not isinstance(claims[t], int | float)
        for t in ("iat", "exp")
    ):
        raise InvalidPersonToken("a time is not a number")
    return claims
