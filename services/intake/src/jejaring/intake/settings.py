"""Intake's settings (env prefix INTAKE_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTAKE_", extra="ignore", validate_default=True, populate_by_name=True
    )

    service: str = "intake"
    port: int = 8000
    admin_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("INTAKE_ADMIN_TOKEN", "JEJARING_ADMIN_TOKEN"),
        description="Bootstrap admin: whoever presents this token may manage users.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base of the links put in responses."
    )
    page_size_max: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _admin_token_is_real(self) -> IntakeSettings:
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if token is not None and self.environment == "production" and len(token) < 24:
            raise ValueError(
                "JEJARING_ADMIN_TOKEN must be at least 24 random characters outside development"
            )
        return self
