"""Referral's HTTP and seed shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from jejaring.shared.enums import PartnerKind, Service
from jejaring.shared.events import KelurahanCode, Slug


class PartnerIn(BaseModel):
    """A partner as an operator describes it (seed file, admin API, CLI)."""

    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: str = Field(min_length=2, max_length=200)
    kind: PartnerKind
    services: list[Service] = Field(min_length=1, max_length=20)
    kelurahan: list[KelurahanCode] = Field(default_factory=list, max_length=100)
    active: bool = True
