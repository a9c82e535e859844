"""Settings every service has; each service subclasses with its own env prefix."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from jejaring.shared.db import DEFAULT_POOL_SIZE, create_engine, default_sqlite_url
from jejaring.shared.region import DEFAULT_REGION_FILE
from jejaring.shared.secrets import env_name, refuse_weak_secrets
from jejaring.shared.web.identity import (
    IDENTITY_KEY_ENV,
    IDENTITY_PUBLIC_KEY_ENV,
    canonical_public_key,
)


class ProcessSettings(BaseSettings):
    """What every process serving HTTP has: where its data and database are, where it listens.
    The messaging services add NATS and their secrets (`ServiceSettings`); the web app does
    not talk to NATS and holds no service secret, so it builds on this alone."""

    model_config = SettingsConfigDict(
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
        populate_by_name=True,
        hide_input_in_errors=True,  # an error never repeats a password or a token
    )

    service: str = Field(default="service", exclude=True)
    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in data_dir"
    )
    db_lock_timeout_ms: int = Field(default=30_000, ge=50)
    db_pool_size: int = Field(
        default=DEFAULT_POOL_SIZE,
        ge=1,
        le=100,
        description="PostgreSQL: the most connections this process holds; work beyond them "
        "waits for one. Every process and replica together must stay below PostgreSQL's "
        "max_connections (docs/capacity.md)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    region_file: Path = DEFAULT_REGION_FILE
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="The reverse proxy's addresses or networks, comma-separated: only from "
        "these are X-Forwarded-For and -Proto believed (the client's address, e.g. for the "
        "sign-in limit, then comes from the header)",
    )

    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"),
        description="The standard OpenTelemetry variable: the base URL of an OTLP/HTTP "
        "collector (spans go to <URL>/v1/traces). Unset: no span is exported (tracing.py).",
    )

    def create_engine(self) -> AsyncEngine:
        """The process's engine on its database, with its lock timeout and pool size."""
        return create_engine(
            self.db_url, lock_timeout_ms=self.db_lock_timeout_ms, pool_size=self.db_pool_size
        )

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(
                "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL (an OTLP/HTTP "
                "collector, e.g. http://127.0.0.1:4318)"
            )
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _ip_addresses(cls, value: str) -> str:
        """uvicorn would take anything else for a literal that never matches, silently."""
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (a proxy's address, e.g. "
                    "172.30.57.80 or 10.0.0.0/24)"
                ) from None
        if not items:
            raise ValueError("give the proxy's address (default 127.0.0.1)")
        return ",".join(items)

    # Only intake signs people's access tokens (IntakeSettings sets this).
    signs_people_tokens: ClassVar[bool] = False

    @model_validator(mode="after")
    def _default_database(self) -> ProcessSettings:
        if self.database_url is None:
            self.database_url = default_sqlite_url(self.service, self.data_dir)
        return self

    @model_validator(mode="after")
    def _real_secrets(self) -> ProcessSettings:
        if self.environment == "production":
            refuse_weak_secrets(self)  # every secret setting, subclasses' too (secrets.py)
        return self

    @model_validator(mode="after")
    def _no_signing_secret(self) -> ProcessSettings:
        # Not read here at all; in production its mere presence is a deployment mistake that
        # would let whoever reads this process's environment sign a token for anyone.
        if (
            self.environment == "production"
            and not self.signs_people_tokens
            and os.environ.get(IDENTITY_KEY_ENV)
        ):
            raise ValueError(
                f"{IDENTITY_KEY_ENV} is set, but it holds intake's signing secret and must not "
                f"reach {self.service}: unset it and give {IDENTITY_PUBLIC_KEY_ENV} instead "
                "(`jejaring identity public-key` prints it; the web app needs neither)"
            )
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None  # set by the validator
        return self.database_url

    @model_validator(mode="after")
    def _public_urls_https(self) -> ProcessSettings:
        if self.environment == "production":
            for name in type(self).model_fields:
                value = getattr(self, name)
                if name.endswith("public_url") and isinstance(value, str):
                    require_secure(env_name(type(self), name), value, "https")
        return self


class ServiceSettings(ProcessSettings):
    """Common settings. Subclasses set `service` and `env_prefix` (INTAKE_, REFERRAL_, NOTIFY_,
    REPORT_)."""

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # TLS to NATS: a tls:// URL or a CA file turns it on (connection.py, `client_tls`).
    nats_tls_ca_file: Path | None = Field(default=None, description="The CA NATS's cert is from")
    nats_tls_cert_file: Path | None = Field(default=None, description="Client cert (mutual TLS)")
    nats_tls_key_file: Path | None = None
    nats_tls_hostname: str | None = Field(
        default=None, description="The name NATS's certificate must carry, if not the URL's host"
    )
    stream_replicas: int = Field(default=1, ge=1, le=5)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    admin_token: SecretStr | None = Field(
        default=None,
        description="This service's own admin bearer token (<PREFIX>ADMIN_TOKEN: "
        "INTAKE_ADMIN_TOKEN, REFERRAL_ADMIN_TOKEN, NOTIFY_ADMIN_TOKEN, REPORT_ADMIN_TOKEN); "
        "another service's is refused here.",
    )

    identity_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(IDENTITY_PUBLIC_KEY_ENV, "identity_public_key"),
        description="The public key every service verifies people's access tokens with "
        "(web/identity.py; not a secret): base64url of 32 bytes, printed by `jejaring identity "
        "public-key`. Without it people's tokens are refused here (API tokens still work).",
    )

    @model_validator(mode="after")
    def _identity_public_key(self) -> ServiceSettings:
        if self.identity_public_key is not None:
            try:
                self.identity_public_key = canonical_public_key(self.identity_public_key)
            except ValueError as exc:
                raise ValueError(f"{IDENTITY_PUBLIC_KEY_ENV} {exc}") from None
        return self

    @model_validator(mode="after")
    def _nats_tls(self) -> ServiceSettings:
        for name in ("nats_tls_ca_file", "nats_tls_cert_file", "nats_tls_key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{env_name(type(self), name)}: {path} is not a readable file")
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            cert, key = (env_name(type(self), f"nats_tls_{n}_file") for n in ("cert", "key"))
            raise ValueError(f"{cert} and {key} go together")
        tls_configured = self.nats_tls_ca_file is not None or self.nats_tls_cert_file is not None
        if self.environment == "production" and not tls_configured:
            for server in self.nats_url.split(","):
                require_secure(env_name(type(self), "nats_url"), server.strip(), "tls")
        return self

    @model_validator(mode="after")
    def _nats_password(self) -> ServiceSettings:
        if self.environment == "production" and self.nats_user and self.nats_password is None:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"{prefix}NATS_PASSWORD is missing (needed with {prefix}NATS_USER)")
        return self


# Transport security: one rule for every service. Outside development, plaintext is allowed only
# to this machine (the embedded stack on 127.0.0.1).


def is_loopback(host: str | None) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure(setting: str, url: str, secure_scheme: str) -> None:
    """Refuse `url` unless its scheme is `secure_scheme` or its host is loopback."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    if parts.scheme == secure_scheme or is_loopback(parts.hostname):
        return
    shown = f"{parts.scheme or 'nats'}://{parts.netloc.rpartition('@')[2]}"  # no credentials
    raise ValueError(
        f"{setting}: {shown} is plaintext to another machine; production needs "
        f"{secure_scheme}:// (plaintext is allowed only to localhost/127.0.0.1)"
        + ("" if secure_scheme == "https" else f" or {setting.removesuffix('URL')}TLS_CA_FILE")
    )
