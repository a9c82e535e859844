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
    token = issue(STAFF, key=KEY, now=NOW)
    assert looks_like_person_token(token)
    assert verify(token, key=KEY, now=NOW + dt.timedelta(seconds=49)) == STAFF
    with pytest.raises(InvalidPersonToken, match="expired"):
        verify(token, key=KEY, now=NOW + dt.timedelta(seconds=50))


def test_no_service_accepts_a_token_a_minute_after_its_issue_within_the_skew() -> None:
    """Revocation without a list: a token lives 50 s at most; a service whose clock is up to
    10 s behind or ahead of intake's accepts it for less than 60 s after its issue."""
    with pytest.raises(ValueError, match="MAX_LIFETIME"):
        issue(STAFF, key=KEY, now=NOW, lifetime=dt.timedelta(seconds=51))
    token = issue(STAFF, key=KEY, now=NOW, lifetime=dt.timedelta(seconds=50))

    def accepted(lag: float) -> list[float]:
        """The moments (intake's clock, 0.5 s apart) at which a service lagging by `lag` s
        accepts the token."""
        out = []
        for half in range(-40, 260):
            t = half / 2
            try:
                verify(token, key=KEY, now=NOW + dt.timedelta(seconds=t - lag))
                out.append(t)
            except InvalidPersonToken:
                pass
        return out

    for lag in range(-10, 11):
        assert accepted(lag), lag
        assert max(accepted(lag)) < 60, lag
    # A service lagging more than the skew refuses a fresh token (it looks issued in the
    # future): a drifted clock shows at once instead of silently prolonging access.
    assert min(accepted(30)) >= 20


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
