"""Notify's settings (env prefix NOTIFY_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", validate_default=True)

    service: str = "notify"
    port: int = 8002
