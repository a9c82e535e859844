"""NOTIFY_SMTP_SECURITY: TLS by default, plaintext only to loopback in production, and the old
NOTIFY_SMTP_STARTTLS / NOTIFY_SMTP_TLS still understood for one release."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jejaring.notify.settings import NotifySettings


def test_starttls_is_the_default(tmp_path: Path) -> None:
    assert NotifySettings(data_dir=tmp_path).smtp_security == "starttls"


@pytest.mark.parametrize(
    ("old", "security"),
    [
        ({"smtp_starttls": False}, "none"),
        ({"smtp_starttls": True}, "starttls"),
        ({"smtp_tls": True}, "tls"),
        ({"smtp_tls": True, "smtp_starttls": False}, "tls"),
    ],
)
def test_the_old_booleans_map_to_the_new_setting(
    tmp_path: Path, old: dict[str, bool], security: str
) -> None:
    assert NotifySettings(data_dir=tmp_path, **old).smtp_security == security  # type: ignore[arg-type]


def test_the_new_setting_wins_over_the_old(tmp_path: Path) -> None:
    settings = NotifySettings(data_dir=tmp_path, smtp_starttls=False, smtp_security="tls")
    assert settings.smtp_security == "tls"


def test_plaintext_smtp_to_another_machine_is_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="NOTIFY_SMTP_SECURITY=none sends mail in plaintext"):
        NotifySettings(
            data_dir=tmp_path,
            environment="production",
            email_channel="smtp",
            smtp_host="mail.example.org",
            smtp_security="none",
        )
    with pytest.raises(ValidationError, match="NOTIFY_SMTP_SECURITY=none"):  # the old spelling
        NotifySettings(
            data_dir=tmp_path,
            environment="production",
            email_channel="smtp",
            smtp_host="mailpit",
            smtp_starttls=False,
        )


def test_plaintext_smtp_to_loopback_passes_in_production(tmp_path: Path) -> None:
    settings = NotifySettings(
        data_dir=tmp_path,
        environment="production",
        email_channel="smtp",
        smtp_host="127.0.0.1",
        smtp_security="none",
        sms_channel="gateway",
        sms_gateway_url="https://sms.example.org/send",
    )
    assert settings.smtp_security == "none"


def test_a_missing_smtp_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="NOTIFY_SMTP_CA_FILE: .* is not a readable file"):
        NotifySettings(data_dir=tmp_path, smtp_ca_file=tmp_path / "nope.pem")
