"""Which person is asking: the one place where a service turns `Authorization: Bearer <jwt>`
into a Person, with the public key its settings hold and its own clock.

Every service calls `person_of` before it looks at its own opaque tokens (an API token has no
dots, a person's token has two). A person's token is checked here, locally, with intake's public
key: no service asks intake about it (`docs/decisions.md`, "People's identity across services").
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from jejaring.shared.settings import ServiceSettings
from jejaring.shared.web.errors import unauthorized
from jejaring.shared.web.identity import InvalidPersonToken, Person, looks_like_person_token, verify
from jejaring.shared.web.tokens import bearer_token

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def person_of(
    authorization: str | None, *, settings: ServiceSettings, clock: Clock
) -> Person | None:
    """The person an `Authorization: Bearer <person token>` header names; None when the header
    carries no person's token (none at all, or an opaque API token: the caller checks those).
    A person's token that does not verify (another key or algorithm, changed, expired, or no
    key set here) is 401, whatever the reason."""
    token = bearer_token(authorization)
    if token is None or not looks_like_person_token(token):
        return None
    if not settings.identity_public_key:
        log.warning("a person's token was sent, but JEJARING_IDENTITY_PUBLIC_KEY is not set")
        raise unauthorized()
    try:
        return verify(token, public_key=settings.identity_public_key, now=clock())
    except InvalidPersonToken as exc:
        log.info("person token refused", extra={"reason": str(exc)})  # names no claim value
        raise unauthorized() from None
