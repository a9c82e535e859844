"""Referral's settings (env prefix REFERRAL_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings

DEFAULT_PARTNERS_FILE = Path(__file__).parent / "data" / "partners.json"


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRAL_")

    service: str = "referral"
    port: int = 8001
    seed_partners_file: Path | None = DEFAULT_PARTNERS_FILE
    deadline_check_interval_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(default=60.0, gt=0)
    # how soon a cancelled request the partner has not fetched leaves its stream
    forget_interval_s: float = Field(default=1.0, gt=0)
    partner_token_grace_s: int = Field(
        default=24 * 3600,
        ge=0,
        le=30 * 24 * 3600,
        description="After a partner's HTTP token is rotated, the previous one keeps working "
        "this long (unless revoked with the rotation), so the partner can switch without "
        "downtime.",
    )
