"""Notify's settings (env prefix NOTIFY_)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from jejaring.shared.secrets import env_name
from jejaring.shared.settings import ServiceSettings, is_loopback, require_secure


class Backend(StrEnum):
    """What sends a channel's messages; `NOTIFY_<CHANNEL>_CHANNEL` picks one of the backends
    the channel registry (registry.py) gives that channel. The fields below spell them out as
    literals so that a wrong value is refused with pydantic's own message."""

    FILE = "file"
    SMTP = "smtp"
    GATEWAY = "gateway"
    CLOUD = "cloud"  # WhatsApp Business Cloud API
    OFF = "off"  # a channel that is tried only when configured (WhatsApp)


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_")

    service: str = "notify"
    port: int = 8002
    language: Literal["id", "en"] = "id"
    intake_public_url: str = "http://127.0.0.1:8000"
    referral_public_url: str = "http://127.0.0.1:8001"
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_PUBLIC_URL", "JEJARING_PUBLIC_URL", "public_url"),
        description="The web app's address: officers' and the coordinator's alert links open "
        "the case's page there (after signing in); unset, they name intake's API",
    )
    coordinator_name: str = "Koordinator Kecamatan (Kasi Kesos)"
    coordinator_phone: str | None = None
    coordinator_email: str | None = None

    # Each channel's backend (the channel registry holds them): "file" writes each message
    # under outbox_dir (the embedded default).
    sms_channel: Literal["file", "gateway"] = "file"
    email_channel: Literal["file", "smtp"] = "file"
    outbox_dir: Path | None = Field(default=None, description="Default: <data_dir>/outbox")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587) or tls (implicit, port 465): the server's certificate "
        "is verified and nothing is sent if TLS fails; none: plaintext, loopback only in "
        "production",
    )
    smtp_ca_file: Path | None = Field(
        default=None, description="The CA the SMTP server's certificate is from, if private"
    )
    # Before NOTIFY_SMTP_SECURITY (accepted for one release, then removed): STARTTLS=false meant
    # none and TLS=true meant tls. Ignored when NOTIFY_SMTP_SECURITY is set.
    smtp_starttls: bool | None = None
    smtp_tls: bool | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Jejaring <jejaring@localhost>"
    smtp_timeout_s: float = Field(default=10, gt=0)

    sms_gateway_url: str | None = None
    sms_gateway_auth_header: SecretStr | None = Field(
        default=None, description='e.g. "Authorization: Bearer <key>" or "X-API-Key: <key>"'
    )
    sms_gateway_body_template: str = Field(
        default='{"to": "{to}", "message": "{text}"}',
        description="JSON body with {to} and {text} placeholders (filled JSON-escaped)",
    )
    sms_gateway_success_contains: str | None = Field(
        default=None, description="A 2xx answer counts as sent only if its body contains this"
    )
    sms_gateway_message_id_field: str | None = Field(
        default="message_id", description="Key of the provider's message id in a JSON answer"
    )
    sms_gateway_timeout_s: float = Field(default=10, gt=0)
    sms_gateway_body_format: Literal["json", "form"] = Field(
        default="json",
        description="json: the body template above; form: application/x-www-form-urlencoded "
        "with the two field names below and the extra fields",
    )
    sms_gateway_form_to_field: str = Field(default="to", min_length=1)
    sms_gateway_form_text_field: str = Field(default="message", min_length=1)
    sms_gateway_form_extra: SecretStr | None = Field(
        default=None,
        description='Fixed form fields, URL-encoded, e.g. "userkey=<key>&passkey=<key>" (secret)',
    )

    # WhatsApp (Business Cloud API): when on, a recipient with a phone is sent an approved
    # template message first and SMS after it fails (registry.py, docs/decisions.md).
    whatsapp_channel: Literal["off", "cloud"] = "off"
    whatsapp_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    whatsapp_phone_number_id: str | None = Field(default=None, pattern=r"^\d+$")
    whatsapp_access_token: SecretStr | None = None
    whatsapp_template: str = Field(
        default="jejaring_{kind}",
        description="The approved template's name; {kind} becomes the alert kind "
        "(referral_requested, ...), so one template per kind",
    )
    whatsapp_language: str = Field(default="id", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    whatsapp_country_code: str = Field(
        default="62", pattern=r"^\d{1,3}$", description="Replaces a phone's leading 0"
    )
    whatsapp_timeout_s: float = Field(default=10, gt=0)
    whatsapp_max_attempts: int = Field(
        default=2, ge=1, le=20, description="Before SMS (a 4xx other than 429: at once)"
    )
    # The status webhook (POST /api/v1/whatsapp/webhook): a message WhatsApp accepted and
    # later reports failed falls back to SMS. Off (404) unless the app secret is set.
    whatsapp_app_secret: SecretStr | None = Field(
        default=None, description="The Meta app's secret: it signs each webhook call"
    )
    whatsapp_verify_token: SecretStr | None = Field(
        default=None, description="Chosen by you, given to Meta when subscribing the webhook"
    )

    # The survivor's feedback after close (feedback.py, issue 20).
    feedback_key: SecretStr | None = Field(
        default=None,
        description="The key of the keyed hash (HMAC) a survivor's phone is kept as, and of her "
        "phone sealed while its SMS waits; unset: a key made once in <data_dir>/"
        "notify-feedback-key (0600). Changing it forgets the requests waiting for a reply",
    )
    feedback_days: int = Field(
        default=14, ge=1, le=90, description="How long a feedback request waits for the reply"
    )
    feedback_quiet_start: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    feedback_quiet_end: str = Field(
        default="07:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="No feedback SMS between these times (WITA): it waits for the morning",
    )
    # Replies coming in: the SMS gateway posts each to POST /api/v1/sms/inbound with this
    # token (Authorization: Bearer). Off (404) unless set.
    sms_inbound_token: SecretStr | None = Field(
        default=None, description="The token the SMS gateway sends with each inbound message"
    )
    sms_inbound_from_field: str = Field(
        default="from", min_length=1, description="The sender's number in an inbound message"
    )
    sms_inbound_text_field: str = Field(
        default="message", min_length=1, description="The text of an inbound message"
    )

    max_attempts: int = Field(default=3, ge=1, le=20, description="Before falling back")
    retry_base_s: float = Field(default=2.0, gt=0)
    dispatch_interval_s: float = Field(default=0.5, gt=0)
    send_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Messages sent at once (a crash resends at most these); 1 sends in order",
    )

    @model_validator(mode="after")
    def _channels_configured(self) -> NotifySettings:
        if self.outbox_dir is None:
            self.outbox_dir = self.data_dir / "outbox"
        if self.sms_channel == Backend.GATEWAY.value and not self.sms_gateway_url:
            raise ValueError("NOTIFY_SMS_GATEWAY_URL is required when NOTIFY_SMS_CHANNEL=gateway")
        return self

    @model_validator(mode="after")
    def _gateway_bodies(self) -> NotifySettings:
        if self.sms_gateway_form_extra is not None:
            try:
                parse_qsl(self.sms_gateway_form_extra.get_secret_value(), strict_parsing=True)
            except ValueError:
                raise ValueError(
                    "NOTIFY_SMS_GATEWAY_FORM_EXTRA: not URL-encoded fields (name=value&name=value)"
                ) from None
        return self

    @model_validator(mode="after")
    def _whatsapp(self) -> NotifySettings:
        if self.whatsapp_channel == Backend.OFF.value:
            return self
        for name in ("whatsapp_phone_number_id", "whatsapp_access_token"):
            if getattr(self, name) is None:
                raise ValueError(
                    f"{env_name(type(self), name)} is required when NOTIFY_WHATSAPP_CHANNEL=cloud"
                )
        if not re.fullmatch(r"[a-z0-9_]{1,512}", self.whatsapp_template.replace("{kind}", "x")):
            raise ValueError(
                f"NOTIFY_WHATSAPP_TEMPLATE: {self.whatsapp_template!r} is not a template name "
                "(lower-case letters, digits and _; {kind} for the alert kind)"
            )
        if self.environment == "production":
            require_secure("NOTIFY_WHATSAPP_BASE_URL", self.whatsapp_base_url, "https")
        return self

    @model_validator(mode="after")
    def _smtp_security(self) -> NotifySettings:
        if "smtp_security" not in self.model_fields_set:
            if self.smtp_tls:
                self.smtp_security = "tls"
            elif self.smtp_starttls is False:
                self.smtp_security = "none"
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            raise ValueError(f"NOTIFY_SMTP_CA_FILE: {self.smtp_ca_file} is not a readable file")
        if (
            self.environment == "production"
            and self.email_channel == Backend.SMTP.value
            and self.smtp_security == "none"
            and not is_loopback(self.smtp_host)
            and not self.allow_dev_channels  # mailpit speaks plaintext
        ):
            raise ValueError(
                f"NOTIFY_SMTP_SECURITY=none sends mail in plaintext to {self.smtp_host}; "
                "production needs starttls or tls (none is allowed only to localhost/127.0.0.1)"
            )
        return self

    # Production alerts must reach people: a channel that only writes a file or a development
    # mail catcher would log `sent` while nobody is told. NOTIFY_ALLOW_DEV_CHANNELS lifts this
    # (and the plaintext-SMTP rule) for a development deployment, e.g. compose's dev profile.
    allow_dev_channels: bool = Field(
        default=False,
        description="Development only: in production, allow the file channels and a "
        "development mail catcher (mailpit, port 1025)",
    )

    @model_validator(mode="after")
    def _real_channels_in_production(self) -> NotifySettings:
        if self.environment != "production" or self.allow_dev_channels:
            return self
        allow = "NOTIFY_ALLOW_DEV_CHANNELS=true allows it for development only"
        if self.sms_channel == Backend.FILE.value:
            raise ValueError(
                "NOTIFY_SMS_CHANNEL=file writes alerts to a file and reaches nobody; production "
                f"needs NOTIFY_SMS_CHANNEL=gateway and NOTIFY_SMS_GATEWAY_URL ({allow})"
            )
        if self.email_channel == Backend.FILE.value:
            raise ValueError(
                "NOTIFY_EMAIL_CHANNEL=file writes email to a file and reaches nobody; production "
                f"needs NOTIFY_EMAIL_CHANNEL=smtp and NOTIFY_SMTP_HOST ({allow})"
            )
        if "smtp_host" not in self.model_fields_set:
            raise ValueError(
                "NOTIFY_SMTP_HOST is not set: production sends email through your provider's "
                "SMTP server (set NOTIFY_SMTP_HOST, NOTIFY_SMTP_USERNAME, NOTIFY_SMTP_PASSWORD)"
            )
        if self.smtp_host.lower() in DEV_MAIL_CATCHERS or self.smtp_port == DEV_MAIL_PORT:
            raise ValueError(
                f"NOTIFY_SMTP_HOST: {self.smtp_host}:{self.smtp_port} is a development mail "
                f"catcher and delivers to nobody; set your provider's SMTP server ({allow})"
            )
        return self


# Development mail catchers (compose's dev profile runs mailpit, SMTP on port 1025).
DEV_MAIL_CATCHERS = frozenset({"mailpit", "mailhog"})
DEV_MAIL_PORT = 1025
