"""Notify's tables: the delivery log, one row per (event, recipient, channel), and the
survivors' feedback (feedback.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class DeliveryStatus(StrEnum):
    """Where a delivery stands; the values are what `delivery.status` stores."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a dispatcher, under a lease
    SENT = "sent"
    FAILED = "failed"
    DEFERRED = "deferred"  # waiting for the end of the recipient's quiet hours


class RecipientRole(StrEnum):
    """Who a recipient is to the case; the values are what `delivery.recipient_role` stores."""

    PARTNER = "partner"
    OFFICER = "officer"
    COORDINATOR = "coordinator"
    SURVIVOR = "survivor"  # a feedback request (feedback.py): her address is never kept plain


def stored_as_text(values: type[StrEnum], length: int) -> Enum:
    """A column of `values` kept as their plain strings in a VARCHAR(length), exactly as a
    String(length) column would (no database enum, no CHECK); read back as the enum."""
    return Enum(
        values,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


# Statuses of a delivery still to send: the dispatcher claims only these.
DUE = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED, DeliveryStatus.SENDING)
_DUE_SQL = text("status IN (" + ", ".join(f"'{status.value}'" for status in DUE) + ")")


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
    # The case's kelurahan, from the event (every referral event carries it): an officer reads
    # only their own kelurahan's deliveries. NULL on rows planned before it was kept.
    kelurahan_code: Mapped[str | None] = mapped_column(String(16))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_role: Mapped[RecipientRole] = mapped_column(stored_as_text(RecipientRole, 20))
    recipient: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))  # a name in the channel registry
    alternate: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The WhatsApp template's parameters (render.template_parameters): allow-listed values only.
    # NULL on rows planned before they were kept; a WhatsApp delivery without them fails to SMS.
    template_parameters: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(stored_as_text(DeliveryStatus, 10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    # Indexed: a provider's later report (WhatsApp's status webhook) finds its delivery by it.
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    fallback_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # The trace context of the event handling that planned it: sending continues that trace.
    traceparent: Mapped[str | None] = mapped_column(String(55))


class FeedbackRequest(Base):
    """A survivor asked for feedback, waiting for her reply (feedback.py): her phone only as a
    keyed hash (HMAC with notify's feedback key), to recognise the reply; deleted when she
    answers or at `expires_at`."""

    __tablename__ = "feedback_request"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    partner_slugs: Mapped[list[str]] = mapped_column(JSON)
    asked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class Feedback(Base):
    """One survivor's answer: the score (1-5), the partners it is about and the local date it
    came. No phone, no case: reports need only each partner's scores."""

    __tablename__ = "feedback"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    partner_slugs: Mapped[list[str]] = mapped_column(JSON)
    received_on: Mapped[dt.date] = mapped_column(Date)
