"""Bearer tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from jejaring.shared.web.identity import looks_like_person_token

# An opaque token is 43 characters; a person's access token (a JWT) a few hundred.
MAX_API_TOKEN = 200
MAX_PERSON_TOKEN = 2048


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None (also when it is longer
    than any token this system makes)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    limit = MAX_PERSON_TOKEN if looks_like_person_token(token) else MAX_API_TOKEN
    return token if len(token) <= limit else None


def same_token(token: str, expected: str | None) -> bool:
    """Constant-time comparison with a configured token."""
    return expected is not None and hmac.compare_digest(token_hash(token), token_hash(expected))
