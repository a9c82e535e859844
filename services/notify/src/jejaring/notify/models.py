"""Notify's table: the delivery log, one row per (event, recipient, channel)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


# Statuses of a delivery still to send: the dispatcher claims only these.
DUE = ("queued", "deferred", "sending")
_DUE_SQL = text("status IN (" + ", ".join(f"'{status}'" for status in DUE) + ")")


class Delivery(Base):
    """One message to one recipient on one channel. Holds no victim data by construction:
    the text is rendered from references, services and deadlines only."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel"),
        # The dispatcher's claim reads only rows still to send (migration notify_0002).
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=_DUE_SQL,
            sqlite_where=_DUE_SQL,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(40))
    case_reference: Mapped[str] = mapped_column(String(32), index=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    alternate: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(500))
    fallback_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
