"""Referral's tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Partner(Base):
    """A partner agency; `kelurahan` empty means every kelurahan of the region."""

    __tablename__ = "partner"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    services: Mapped[list[str]] = mapped_column(JSON)
    kelurahan: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
