"""Referral's tables: partners, the latest snapshot of each case, referrals, unmet needs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.audit import HeadColumns, RecordColumns
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
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deadlines: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The token before the latest rotation, still valid until `previous_token_until` (grace).
    previous_token_hash: Mapped[str | None] = mapped_column(String(64))
    previous_token_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    def covers(self, kelurahan_code: str) -> bool:
        return covers(self.kelurahan, kelurahan_code)


def covers(kelurahan: list[str], kelurahan_code: str) -> bool:
    """A partner's kelurahan cover `kelurahan_code`: empty is every kelurahan of the region."""
    return not kelurahan or kelurahan_code in kelurahan


class PartnerNatsKey(Base):
    """A partner's NKey public key for NATS; valid until it expires or is revoked (the seed
    stays with the partner)."""

    __tablename__ = "partner_nats_key"

    public_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    partner_slug: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CaseState(Base):
    """The newest snapshot of a case that referral has seen (from case.v1.*)."""

    __tablename__ = "case_state"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Referral(Base):
    """One referral of one case's need to one partner (FHIR Task)."""

    __tablename__ = "referral"
    # No unique (case, service, partner): a merged case's referrals join the kept case's, which
    # may have one to the same partner for the same need. Ids are derived from (case, service,
    # partner) (routing.referral_id), so the primary key keeps routing idempotent.

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    case_reference: Mapped[str] = mapped_column(String(32))
    partner_slug: Mapped[str] = mapped_column(String(40), index=True)
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    business_status: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[str] = mapped_column(String(10))
    risk_level: Mapped[str] = mapped_column(String(10))
    kelurahan_code: Mapped[str] = mapped_column(String(16))
    accept_by: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sequence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(300))
    # The latest answer's reason as a code (AnswerReason), when the partner gave one.
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    escalated_from: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Nats-Msg-Id of the latest `requested` message on the partner's stream (for repairs).
    request_msg_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # Its sequence on the partner's stream once JetStream acknowledged it (the outbox relay
    # records it; the outbox row itself is pruned a day later): to tell whether the partner
    # fetched it, and to delete it if not.
    request_seq: Mapped[int | None] = mapped_column(BigInteger)
    # Who at the partner gave the latest answer (a person's name), when the answer said.
    answered_by: Mapped[str | None] = mapped_column(String(200))


class RequestForget(Base):
    """A request to take off its partner's stream if the partner has not fetched it
    (retention.py), and the cancellation to publish instead if it has (none: say nothing)."""

    __tablename__ = "request_forget"

    referral_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    partner_slug: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(255))
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    staged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class UnmetNeed(Base):
    """A need no active partner could take when the case was routed."""

    __tablename__ = "unmet_need"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class AuditRecord(RecordColumns, Base):
    """One partner or credential action, or a partner's answer, in referral's audit trail
    (jejaring.referral.audit): `partner` is the partner acted on or answering, `subject_id`
    the referral answered."""

    __tablename__ = "audit_record"

    partner: Mapped[str | None] = mapped_column(String(40), index=True)


class AuditHead(HeadColumns, Base):
    """The trail's one-row head (jejaring.shared.audit)."""

    __tablename__ = "audit_head"
