"""The one rule for secrets in production (jejaring.shared.secrets)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jejaring.notify.settings import NotifySettings
from jejaring.shared.secrets import new_secret, weakness
from jejaring.shared.settings import ServiceSettings
from jejaring.web.settings import WebSettings


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("change-me-to-a-long-random-token", "is a placeholder (contains 'change-me')"),
        ("CHANGEME0123456789abcdefghijklmnop", "is a placeholder (contains 'changeme')"),
        ("kata-sandi-example-0123456789", "is a placeholder (contains 'example')"),
        ("Xy7pQ2mN4k", "is 10 characters long, at least 16 random characters needed"),
        ("abababababababababababab", "is low-entropy: only 2 different characters (10+ needed)"),
        ("a" * 40 + "bcdefghijk", "is low-entropy: about 1.4 bits per character"),
    ],
)
def test_weak_values_are_refused_with_the_reason(value: str, reason: str) -> None:
    found = weakness(value)
    assert found is not None and found.startswith(reason), found
    assert value not in found, "the reason repeats the value"


def test_generated_secrets_always_pass() -> None:
    for _ in range(2000):
        assert weakness(new_secret(), 32) is None


def test_every_secret_setting_is_checked_naming_its_variable() -> None:
    real = new_secret()
    with pytest.raises(ValidationError, match=r"NOTIFY_SMTP_PASSWORD is a placeholder"):
        NotifySettings(environment="production", smtp_password="change-me")
    with pytest.raises(ValidationError, match=r"NOTIFY_SMS_GATEWAY_AUTH_HEADER is 13 characters"):
        NotifySettings(environment="production", sms_gateway_auth_header="X-API-Key: ab")
    with pytest.raises(ValidationError, match=r"WEB_DATABASE_URL: its password is low-entropy"):
        WebSettings(
            environment="production",
            database_url="postgresql+asyncpg://web:aaaaaaaaaaaaaaaaaa@db/w",
        )
    with pytest.raises(ValidationError, match=r"ADMIN_TOKEN is 20 characters long"):
        ServiceSettings(environment="production", admin_token="x1y2z3w4v5u6t7s8r9q0")
    with pytest.raises(ValidationError, match="NATS_PASSWORD is missing"):
        ServiceSettings(environment="production", nats_user="svc-intake")
    # Several at once are all named, in one message.
    with pytest.raises(ValidationError, match=r"NOTIFY_NATS_PASSWORD .*; NOTIFY_SMTP_PASSWORD"):
        NotifySettings(environment="production", nats_password="short", smtp_password="short")
    # Real values, SQLite (no password) and development with placeholders all start.
    NotifySettings(
        environment="production",
        nats_user="svc-notify",
        nats_password=real,
        smtp_password="Gm4il-App-Pw-9xQz",
        database_url=f"postgresql+asyncpg://notify:{real}@db/notify",
        sms_channel="gateway",
        sms_gateway_url="https://sms.example.org/send",
        email_channel="smtp",
        smtp_host="mail.example.org",
    )
    WebSettings(environment="production")
    NotifySettings(environment="development", smtp_password="change-me", nats_password="x")
