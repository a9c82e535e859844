"""Report's tables: codes, dates and counts, never a name, a phone or a free text.

What the read model keeps of a case is what the monthly report and the SIMFONI-PPA export count
(codes of the contract's enums, the case's reference, its kelurahan's code, dates); of a referral,
the first time it reached each status, the partner's slug and name, and the rejection's reason
code. Never the officer, a victim's or a perpetrator's name or phone, a description, a note or a
reason's text. Everything here can be rebuilt from CASES and REFERRAL_EVENTS (rebuild.py).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class ReportCase(Base):
    """One case as of its latest version; `merged_into` set when it was a duplicate (it no
    longer counts), `erased` when its personal data was erased (it still counts)."""

    __tablename__ = "report_case"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))
    kelurahan_code: Mapped[str] = mapped_column(String(13))
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    incident_date: Mapped[dt.date | None] = mapped_column(Date(), nullable=True)
    place: Mapped[str] = mapped_column(String(40))
    risk_level: Mapped[str] = mapped_column(String(10))
    violence_forms: Mapped[list[str]] = mapped_column(JSON())
    needs: Mapped[list[str]] = mapped_column(JSON())
    perpetrator_relationship: Mapped[str | None] = mapped_column(String(40), nullable=True)
    perpetrator_sex: Mapped[str | None] = mapped_column(String(10), nullable=True)
    perpetrator_is_child: Mapped[bool | None] = mapped_column(Boolean(), nullable=True)
    version: Mapped[int] = mapped_column(Integer())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True)
    erased: Mapped[bool] = mapped_column(Boolean(), default=False)


class ReportVictim(Base):
    """One victim of a case: number (1, 2, ... in the case's order), sex, age group."""

    __tablename__ = "report_victim"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    number: Mapped[int] = mapped_column(Integer(), primary_key=True)
    sex: Mapped[str] = mapped_column(String(10))
    age_group: Mapped[str] = mapped_column(String(10))
    is_child: Mapped[bool] = mapped_column(Boolean())


class ReportReferral(Base):
    """One referral: the first time it reached each status (events may come out of order: the
    earliest time wins), its current status as of its highest `sequence`."""

    __tablename__ = "report_referral"
    __table_args__ = (Index("ix_report_referral_requested_at", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    partner_slug: Mapped[str] = mapped_column(String(40))
    partner_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    service: Mapped[str] = mapped_column(String(40))
    kelurahan_code: Mapped[str] = mapped_column(String(13))
    requested_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    failed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    last_sequence: Mapped[int] = mapped_column(Integer())


class ReportUnmetNeed(Base):
    """A need of a case that no partner could take, once per case and service."""

    __tablename__ = "report_unmet_need"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    kelurahan_code: Mapped[str] = mapped_column(String(13))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


READ_MODEL = (ReportCase, ReportVictim, ReportReferral, ReportUnmetNeed)
