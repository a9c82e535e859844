"""The web app's own tables: people's sessions and failed sign-ins. No case data is kept here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class WebSession(Base):
    """A signed-in person. The cookie holds a random id; only its SHA-256 is stored here, so a
    copy of this table does not let anyone act as the person."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    refresh_token: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str] = mapped_column(String(36))
    person_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    kelurahan_code: Mapped[str | None] = mapped_column(String(20))
    partner_slug: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class SignInFailure(Base):
    """One failed sign-in (or set-password) from a client address, to slow down guessing."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
