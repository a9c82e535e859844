"""The audit trail: every read of a case's personal data, every write, every user and
credential action and every consent override is one append-only record (who, in what role,
what, which case or user, when, from where; never the data itself).

Records are hash-chained: each holds the hash of the one before, and its own hash is the
SHA-256 of its canonical form (`canonical`) including that previous hash. A record altered,
deleted or moved breaks the chain where `verify` says. Appends are serialised by the one-row
head (`audit_head`): an append first updates it (a row lock on PostgreSQL, the write lock on
SQLite), so the chain stays linear with several replicas, and the head keeps the last record's
number and hash, so deleting the last records is noticed too. A record is written in the same
transaction as the action it records; take the head last in a transaction (after the case or
user rows it locks), so that two transactions never wait on each other in opposite orders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.auth import Principal
from jejaring.intake.errors import AuditUnavailable
from jejaring.intake.models import AuditHead, AuditRecord

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first record
_HEAD = cast(Table, AuditHead.__table__)
_RECORD = cast(Table, AuditRecord.__table__)
_VERIFY_BATCH = 1000


class Action(StrEnum):
    """What a record says was done. A case list shows no victim's name (CaseSummary), so it is
    one `case.list` record, not a read of each case listed."""

    CASE_READ = "case.read"
    CASE_LIST = "case.list"
    CASE_CREATE = "case.create"
    CASE_UPDATE = "case.update"
    CASE_CLOSE = "case.close"
    CASE_ASSIGN = "case.assign"
    CONSENT_OVERRIDE = "consent.override"
    CONSENT_CONFIRM = "consent.confirm"
    USER_CREATE = "user.create"
    USER_LIST = "user.list"
    USER_SETUP_CODE = "user.setup_code"
    USER_TOKEN = "user.token"  # noqa: S105 (an action code, not a secret)
    USER_REVOKE = "user.revoke"
    USER_DEACTIVATE = "user.deactivate"
    CASE_LOOKUP = "case.lookup"  # a case found by its reference (no personal data)
    CASE_ERASE = "case.erase"  # personal data erased (a DPO's erasure, or retention)
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"


# Intake itself, acting on its own (the retention job): no person, its own role in the trail.
SYSTEM_ID = uuid.UUID(int=1)
SYSTEM_ROLE = "system"


def canonical(record: AuditRecord) -> bytes:
    """The bytes a record's hash is taken over: its fields (not `hash`) as compact JSON with
    sorted keys; times in UTC to the microsecond, ids as canonical UUID text."""
    fields = {
        "seq": record.seq,
        "at": record.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": str(record.user_id),
        "role": record.role,
        "action": record.action,
        "case_reference": record.case_reference,
        "subject_id": str(record.subject_id) if record.subject_id is not None else None,
        "client": record.client,
        "prev_hash": record.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def record_hash(record: AuditRecord) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


async def append(
    session: AsyncSession,
    *,
    who: Principal,
    action: Action,
    at: dt.datetime,
    client: str | None,
    case_reference: str | None = None,
    subject_id: uuid.UUID | None = None,
) -> AuditRecord:
    """Add one record to the trail in `session`'s transaction (the caller commits it with the
    action it records). Waits for any other append in progress until that one commits.
    AuditUnavailable (503) if the trail cannot take it: the action is then not done."""
    try:
        head = (
            await session.execute(
                update(_HEAD)
                .where(_HEAD.c.id == 1)
                .values(seq=_HEAD.c.seq + 1)
                .returning(_HEAD.c.seq, _HEAD.c.hash)
            )
        ).one_or_none()
    except DBAPIError as exc:
        raise AuditUnavailable() from exc
    if head is None:  # the head row was deleted: no chain to add to
        log.error("audit trail head missing: accesses are refused until it is restored")
        raise AuditUnavailable()
    record = AuditRecord(
        seq=head.seq,
        at=at,
        user_id=who.id,
        role=SYSTEM_ROLE if who.id == SYSTEM_ID else who.role.value,
        action=action.value,
        case_reference=case_reference,
        subject_id=subject_id,
        client=client[:64] if client else None,
        prev_hash=head.hash,
    )
    record.hash = record_hash(record)
    try:
        await session.execute(
            insert(_RECORD).values(
                {c.key: getattr(record, c.key) for c in AuditRecord.__mapper__.column_attrs}
            )
        )
        await session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(hash=record.hash))
    except DBAPIError as exc:
        raise AuditUnavailable() from exc
    return record


@dataclass(frozen=True)
class Trail:
    """Who acts in this request and from where: what every record of the request shares."""

    who: Principal
    client: str | None
    clock: Callable[[], dt.datetime]

    async def record(
        self,
        session: AsyncSession,
        action: Action,
        *,
        case_reference: str | None = None,
        subject_id: uuid.UUID | None = None,
        commit: bool = False,
    ) -> None:
        """One record in the caller's transaction: a write's, committed with the change it
        records. A read passes `commit`: the record is committed before the answer leaves, and
        a read that cannot be recorded is answered 503 (AuditUnavailable), never served."""
        try:
            await append(
                session,
                who=self.who,
                action=action,
                at=self.clock(),
                client=self.client,
                case_reference=case_reference,
                subject_id=subject_id,
            )
            if commit:
                await session.commit()
        except AuditUnavailable:
            if commit:
                await session.rollback()
            raise
        except DBAPIError as exc:  # the commit of a read
            await session.rollback()
            raise AuditUnavailable() from exc


Reason = Literal["altered", "missing", "reordered"]


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the records checked, and the first break if there is one."""

    records: int
    broken_at: int | None = None
    reason: Reason | None = None
    detail: str | None = None


async def verify(session: AsyncSession) -> Verdict:
    """Walk the chain from its first record to the head. The first break is reported at the
    record where it shows: `missing` (a gap in the numbers, or fewer records than the head
    counts), `altered` (a record's content does not match its hash, or the head's hash is not
    the last record's), `reordered` (a genuine record whose previous hash is not the hash of
    the record before it)."""
    head = (
        await session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1))
    ).one_or_none()
    if head is None:
        return Verdict(0, 1, "missing", "the chain's head (audit_head) is missing")
    expected, prev, count = 1, GENESIS, 0
    while expected <= head.seq:
        batch = (
            await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.seq >= expected, AuditRecord.seq <= head.seq)
                .order_by(AuditRecord.seq)
                .limit(_VERIFY_BATCH)
            )
        ).all()
        if not batch:
            break
        for record in batch:
            if record.seq != expected:
                return Verdict(
                    count,
                    record.seq,
                    "missing",
                    f"records {expected}..{record.seq - 1} are missing",
                )
            if record_hash(record) != record.hash:
                return Verdict(count, record.seq, "altered", "its content does not match its hash")
            if record.prev_hash != prev:
                return Verdict(
                    count,
                    record.seq,
                    "reordered",
                    "its previous hash is not the hash of the record before it (that one was "
                    "replaced, or this one moved)",
                )
            prev, expected, count = record.hash, expected + 1, count + 1
    if count < head.seq:
        return Verdict(
            count,
            count + 1,
            "missing",
            f"records {count + 1}..{head.seq} are missing (the head counts {head.seq})",
        )
    if head.hash != prev:
        return Verdict(count, head.seq, "altered", "the head's hash is not the last record's")
    return Verdict(count)


async def page(
    session: AsyncSession,
    *,
    case_reference: str | None,
    user_id: uuid.UUID | None,
    page: int,
    per_page: int,
    newest_first: bool = False,
) -> tuple[list[AuditRecord], int]:
    """Records about a case and/or by a person, oldest first (or newest first)."""
    query = select(AuditRecord)
    if case_reference is not None:
        query = query.where(AuditRecord.case_reference == case_reference)
    if user_id is not None:
        query = query.where(AuditRecord.user_id == user_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(AuditRecord.seq.desc() if newest_first else AuditRecord.seq)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows.all()), int(total or 0)
