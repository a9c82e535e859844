"""The web app's settings (env prefix WEB_)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ProcessSettings


class WebSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_")

    service: str = "web"
    port: int = 8080
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        validation_alias=AliasChoices("WEB_PUBLIC_URL", "JEJARING_PUBLIC_URL", "public_url"),
        description="Where people reach the pages; https makes the cookies Secure",
    )
    intake_url: str = "http://127.0.0.1:8000"
    referral_url: str = Field(
        default="http://127.0.0.1:8001", description="For the partner pages (not yet built)"
    )
    notify_url: str = "http://127.0.0.1:8002"
    report_url: str = "http://127.0.0.1:8003"
    upstream_timeout_s: float = Field(default=10, gt=0, le=120)

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24 * 7)
    sign_in_failures_allowed: int = Field(
        default=10, ge=1, le=1000, description="Failed sign-ins per client address per window"
    )
    sign_in_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    default_language: Literal["id", "en"] = "id"

    @field_validator("public_url", "intake_url", "referral_url", "notify_url", "report_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")
