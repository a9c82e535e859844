"""Intake holds the identity secret and verifies with its own public key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto
from jejaring.shared.web.identity import public_key_of

KEY = "identity-key-for-tests-0123456789abcdef"


def test_intake_verifies_with_the_public_key_of_its_own_secret() -> None:
    assert IntakeSettings(identity_key=KEY).identity_public_key == public_key_of(KEY)
    given = IntakeSettings(identity_key=KEY, identity_public_key=public_key_of(KEY) + "=")
    assert given.identity_public_key == public_key_of(KEY)
    assert IntakeSettings().identity_public_key is None


def test_a_public_key_that_is_not_intakes_own_is_refused_naming_both_settings() -> None:
    """A stale JEJARING_IDENTITY_PUBLIC_KEY beside a new key (a rotation half done) would make
    referral and notify refuse every token intake issues: intake refuses to start instead."""
    with pytest.raises(ValidationError) as refused:
        IntakeSettings(identity_key=KEY, identity_public_key=public_key_of("another-" + KEY))
    message = str(refused.value)
    assert "JEJARING_IDENTITY_PUBLIC_KEY is not the public key of JEJARING_IDENTITY_KEY" in message
    assert KEY not in message


def test_production_refuses_a_placeholder_identity_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEJARING_IDENTITY_KEY", KEY)  # intake's own: allowed here
    monkeypatch.setenv("INTAKE_MASTER_KEYS", crypto.generate_line("k1"))
    for key in ("short", "change-me-to-a-long-random-identity-key-0123"):
        with pytest.raises(ValidationError, match="JEJARING_IDENTITY_KEY"):
            IntakeSettings(environment="production", identity_key=key)
    assert IntakeSettings(environment="production").identity_key is not None
