"""Intake's settings (env prefix INTAKE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    service: str = "intake"
    port: int = 8000
