"""Intake's tables: cases (with their victims), users, and the read model of referrals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, Uuid, false, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jejaring.shared.audit import HeadColumns, RecordColumns
from jejaring.shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Case(Base):
    """A case of violence recorded by an officer. Times in UTC."""

    __tablename__ = "case_record"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    kelurahan_code: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    risk_level: Mapped[str] = mapped_column(String(10), index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    incident_date: Mapped[dt.date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(30))
    violence_forms: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[dict[str, Any]] = mapped_column(JSON)
    victims: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    perpetrator: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    needs: Mapped[list[str]] = mapped_column(JSON)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON)
    legal_aid_proof: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer)
    # The client's Idempotency-Key for the POST that created the case, and a hash of its body:
    # a retried POST (the answer was lost) returns this case instead of recording a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Sexual violence or a child victim (rules.is_sensitive): a plain column, to filter lists.
    sensitive: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), index=True
    )
    # A consent override waits for the coordinator ("pending") before any referral; "confirmed"
    # after. None: consent was given by the victim or a guardian.
    override_status: Mapped[str | None] = mapped_column(String(12), index=True)
    override_confirmed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    override_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # case.v1.created has been staged: false while a first override waits for confirmation.
    announced: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The personal fields (sealing.PERSONAL), sealed with the case's data key (keyring.py);
    # the columns above hold them stripped. None once erased.
    sealed: Mapped[str | None] = mapped_column(Text)
    # Erased (crypto-shredding): when, why ("erasure" or "retention") and the DPO's reason code.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    erased_why: Mapped[str | None] = mapped_column(String(10))
    erasure_reason: Mapped[str | None] = mapped_column(String(30))

    __table_args__ = (
        Index("uq_case_record_idempotency", "created_by", "idempotency_key", unique=True),
    )


class DataKey(Base):
    """A case's data key, wrapped by the master key `key_id` (keyring.py). Deleting the row
    makes every sealed copy of the case's personal fields unreadable (crypto-shredding)."""

    __tablename__ = "data_key"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CaseAssignment(Base):
    """An officer the coordinator assigned to a case: they see it in full (need to know)."""

    __tablename__ = "case_assignment"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    assigned_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ReferenceCounter(Base):
    """The last number given out per year, for references like BPT-2026-000123."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class User(Base):
    """Someone who may use intake: only hashes of their API token, password and setup code are
    kept. `login` is stored normalised (accounts.normalize_login), so it is unique whatever
    the case it is typed in."""

    __tablename__ = "app_user"
    __table_args__ = (Index("uq_app_user_login", "login", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # a PersonRole
    kelurahan_code: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The API token works until then; a revoked one is replaced by a hash nobody holds.
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    login: Mapped[str | None] = mapped_column(String(60))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id, PHC string
    setup_code_hash: Mapped[str | None] = mapped_column(String(64))
    setup_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    partner_slug: Mapped[str | None] = mapped_column(String(40))  # partner staff only


class PersonSession(Base):
    """A person's signed-in session: the hash of its refresh token, rotated at every refresh.
    It ends when revoked (sign-out, deactivation, a new password), at `expires_at`, or when
    it has not been used for the idle time (settings)."""

    __tablename__ = "person_session"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ReferralView(Base):
    """Intake's read model of each referral, from `referral.v1.event.*`."""

    __tablename__ = "referral_view"

    referral_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    partner_slug: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    business_status: Mapped[list[str]] = mapped_column(JSON, default=list)
    sequence: Mapped[int] = mapped_column(Integer)
    accept_by: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    partner_kind: Mapped[str | None] = mapped_column(String(20))  # when the event says


class ReferralStep(Base):
    """One referral event intake has consumed, kept as a step of the referral's history: its
    status and marks then, who at the partner answered (a person's name, when said) and when.
    The key makes a repeated event add nothing; `sequence` orders the steps."""

    __tablename__ = "referral_step"

    referral_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # status_changed, overdue, …
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(20))
    business_status: Mapped[list[str]] = mapped_column(JSON, default=list)
    answered_by: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class UnmetNeed(Base):
    """A need of a case that referral could not route to any partner."""

    __tablename__ = "unmet_need"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class AuditRecord(RecordColumns, Base):
    """One access or action in the audit trail (jejaring.intake.audit): who, in what role,
    did what, to which case or user (`subject_id`), when and from where; never the data."""

    __tablename__ = "audit_record"


class AuditHead(HeadColumns, Base):
    """The trail's one-row head (jejaring.shared.audit)."""

    __tablename__ = "audit_head"


class CaseTask(Base):
    """A task of a case's plan (issue 20): what to do by when, and who answers for it (an
    officer, or a partner). Its title and goal are personal data: sealed with the case's data
    key in `sealed`. `reminded_at` is set when the reminder was queued, so it is sent once."""

    __tablename__ = "case_task"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # "task" (written by an officer) or "follow_up_visit" (after a mediation agreement)
    kind: Mapped[str] = mapped_column(String(20))
    sealed: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    responsible_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    responsible_partner: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), index=True)  # open, done, cancelled
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CaseActivity(Base):
    """An activity of PPATBM's own work on a case (issue 20): an accompaniment, a home visit, a
    phone follow-up, a mediation session or a meeting with a partner, on a local day (WITA).
    Codes and dates are plain; the note is personal data, sealed with the case's data key in
    `sealed` (None once the case is erased). A mediation session's agreement points to the
    follow-up visit it planned (`follow_up_task_id`, a row of `case_task`)."""

    __tablename__ = "case_activity"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    place: Mapped[str | None] = mapped_column(String(12))  # accompaniment: where, with whom
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(14))  # mediation session only
    follow_up_due: Mapped[dt.date | None] = mapped_column(Date)
    follow_up_task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sealed: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DuplicateIndex(Base):
    """An open case indexed for possible duplicates (duplicates.py), with the id of the master
    key its fingerprints were derived from: a case indexed with an older key is indexed again
    at start. A case with no fingerprint (no victim with a birth date) has this row only."""

    __tablename__ = "duplicate_index"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    indexed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class VictimFingerprint(Base):
    """A keyed hash (HMAC-SHA256) of one victim's normalised name and birth date, for an open
    case: never the name or the date."""

    __tablename__ = "victim_fingerprint"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)


class CaseLink(Base):
    """Two cases that may be the same victim's: `case_id` was recorded after `other_case_id`
    and matched it. Only ids."""

    __tablename__ = "case_link"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    other_case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    linked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CaseMerge(Base):
    """A duplicate case merged by the coordinator into the case kept (`into_case_id`)."""

    __tablename__ = "case_merge"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    into_case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    merged_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    merged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CaseAttachment(Base):
    """A photo or document attached to a case (issue 20, attachments.py). Its bytes are not
    here: they are sealed with the case's data key in a file of the attachments folder named
    `storage_name` (random, unguessable). No original file name and no hash of the content are
    kept. Erased with the case: the file deleted, `storage_name` None, `erased_at` set."""

    __tablename__ = "case_attachment"
    __table_args__ = (Index("uq_case_attachment_storage_name", "storage_name", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # attachments.Kind
    content_type: Mapped[str] = mapped_column(String(40))  # found from the content itself
    size: Mapped[int] = mapped_column(Integer)  # bytes of the document, before sealing
    storage_name: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class InactivePartner(Base):
    """A partner referral deactivated (`referral.v1.event.partner_deactivated`): its staff
    receive no documents any more (attachments.py), whatever referrals it still holds."""

    __tablename__ = "inactive_partner"

    partner_slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    deactivated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
