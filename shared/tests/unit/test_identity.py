"""A person's access token: signed by intake, verified by every service with the shared key."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from jejaring.shared.web.identity import (
    InvalidPersonToken,
    Person,
    PersonRole,
    issue,
    looks_like_person_token,
    verify,
)
from jejaring.shared.web.tokens import new_token

KEY = "k" * 40
NOW = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)
STAFF = Person(
    uuid.uuid4(), "Paralegal Aisyiyah", PersonRole.PARTNER_STAFF, None, "posbakum-aisyiyah"
)


def test_a_token_names_the_person_until_it_expires() -> None:
    token = issue(STAFF, key=KEY, now=NOW, lifetime=dt.timedelta(minutes=5))
    assert looks_like_person_token(token)
    assert verify(token, key=KEY, now=NOW + dt.timedelta(minutes=4, seconds=59)) == STAFF
    with pytest.raises(InvalidPersonToken, match="expired"):
        verify(token, key=KEY, now=NOW + dt.timedelta(minutes=5))


def test_a_token_signed_with_another_key_or_changed_is_refused() -> None:
    token = issue(STAFF, key=KEY, now=NOW)
    with pytest.raises(InvalidPersonToken):
        verify(token, key="x" * 40, now=NOW)
    header, claims, signature = token.split(".")
    forged = ".".join(
        [header, claims[:-2] + ("A" if claims[-2] != "A" else "B") + claims[-1], signature]
    )
    with pytest.raises(InvalidPersonToken):
        verify(forged, key=KEY, now=NOW)
    with pytest.raises(InvalidPersonToken):
        verify("not.a.token", key=KEY, now=NOW)


def test_an_api_token_is_never_taken_for_a_person_token() -> None:
    assert not any(looks_like_person_token(new_token()) for _ in range(1000))
