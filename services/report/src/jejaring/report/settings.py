"""Report's settings (env prefix REPORT_)."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings


class ReportSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORT_")

    service: str = "report"
    port: int = 8003
    language: Literal["id", "en"] = "id"
