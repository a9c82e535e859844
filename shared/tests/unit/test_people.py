"""The one check every service makes of a person's token: header -> Person, None or 401."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from jejaring.shared.refusals import Unauthenticated, Unavailable
from jejaring.shared.settings import ServiceSettings
from jejaring.shared.web.errors import ApiError, status_of
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.shared.web.people import person_of
from jejaring.shared.web.tokens import bearer_token, new_token

KEY = "identity-key-for-tests-0123456789abcdef"
NOW = dt.datetime(2026, 12, 31, 15, 56, tzinfo=dt.UTC)  # 23:56 WITA on New Year's Eve
OFFICER = Person(uuid.uuid4(), "Ibu Wulan", PersonRole.OFFICER, "64.71.04.1003")
SETTINGS = ServiceSettings(identity_public_key=public_key_of(KEY))


def header(token: str) -> str:
    return f"Bearer {token}"


def test_a_person_token_names_the_person_on_the_services_clock() -> None:
    token = issue(OFFICER, secret=KEY, now=NOW)
    assert person_of(header(token), settings=SETTINGS, clock=lambda: NOW) == OFFICER
    later = NOW + dt.timedelta(minutes=5)
    with pytest.raises(ApiError) as refused:
        person_of(header(token), settings=SETTINGS, clock=lambda: later)
    assert refused.value.status == 401


def test_an_api_token_or_no_token_is_left_to_the_service() -> None:
    for authorization in (None, "", "Basic abc", header(new_token())):
        assert person_of(authorization, settings=SETTINGS, clock=lambda: NOW) is None


def test_another_key_or_no_key_here_is_401() -> None:
    foreign = issue(OFFICER, secret="another-key-0123456789abcdefghijklmn", now=NOW)
    for token, settings in [
        (foreign, SETTINGS),
        (issue(OFFICER, secret=KEY, now=NOW), ServiceSettings()),
    ]:
        with pytest.raises(ApiError) as refused:
            person_of(header(token), settings=settings, clock=lambda: NOW)
        assert refused.value.status == 401


def test_long_tokens_are_read_only_when_they_are_person_tokens() -> None:
    assert bearer_token(header("a" * 200)) == "a" * 200
    assert bearer_token(header("a" * 201)) is None, "opaque tokens: as before"
    jwt_like = "a" * 600 + "." + "b" * 600 + "." + "c" * 100
    assert bearer_token(header(jwt_like)) == jwt_like
    assert bearer_token(header(jwt_like + "d" * 1000)) is None


def test_sign_in_refusals_have_their_statuses() -> None:
    assert status_of(Unauthenticated.of("login", "x", "Pesan.", "Message.")) == 401
    assert status_of(Unavailable.of("identity", "x", "Pesan.", "Message.")) == 503


def test_a_public_key_that_is_not_one_is_refused_naming_the_setting() -> None:
    for wrong in ("change-me", KEY, public_key_of(KEY)[:-2]):
        with pytest.raises(ValidationError, match="JEJARING_IDENTITY_PUBLIC_KEY is not an Ed25519"):
            ServiceSettings(identity_public_key=wrong)


def test_a_service_that_does_not_sign_refuses_the_signing_secret_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Referral and notify (and the web app) never read JEJARING_IDENTITY_KEY; in production its
    presence in their environment is refused, naming it, so it cannot leak from there."""
    monkeypatch.setenv("JEJARING_IDENTITY_KEY", KEY)
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(environment="production", identity_public_key=public_key_of(KEY))
    message = str(refused.value)
    assert "JEJARING_IDENTITY_KEY is set, but it holds intake's signing secret" in message
    assert "give JEJARING_IDENTITY_PUBLIC_KEY" in message
    assert KEY not in message
    development = ServiceSettings(identity_public_key=public_key_of(KEY))
    assert not hasattr(development, "identity_key"), "not read at all"
