"""Intake's audit trail: every read of a case's personal data, every write, every user and
credential action and every consent override is one append-only record (who, in what role,
what, which case or user, when, from where; never the data itself), hash-chained by
`jejaring.shared.audit` (its docstring says how). A record is written in the same transaction
as the action it records; take the head last in a transaction (after the case or user rows it
locks), so that two transactions never wait on each other in opposite orders.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.auth import Principal
from jejaring.intake.models import AuditHead, AuditRecord
from jejaring.shared.audit import GENESIS, SYSTEM_ID, SYSTEM_ROLE, Chain, Verdict, record_hash

__all__ = ["GENESIS", "SYSTEM_ID", "Action", "Trail", "append", "page", "record_hash", "verify"]

CHAIN = Chain(AuditRecord, AuditHead)


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
    ACTIVITY_RECORD = "activity.record"  # an activity of case work (activities.py)
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    CASE_MERGE = "case.merge"  # a duplicate merged into the case kept (the coordinator)


def _fields(
    who: Principal,
    action: Action,
    at: dt.datetime,
    client: str | None,
    case_reference: str | None,
    subject_id: uuid.UUID | None,
) -> dict[str, Any]:
    """A record's columns for `who` doing `action` (intake itself: the system role)."""
    return {
        "at": at,
        "user_id": who.id,
        "role": SYSTEM_ROLE if who.id == SYSTEM_ID else who.role.value,
        "action": action.value,
        "case_reference": case_reference,
        "subject_id": subject_id,
        "client": client,
    }


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
    fields = _fields(who, action, at, client, case_reference, subject_id)
    return await CHAIN.append(session, **fields)


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
        fields = _fields(self.who, action, self.clock(), self.client, case_reference, subject_id)
        await CHAIN.record(session, commit=commit, **fields)


async def verify(session: AsyncSession) -> Verdict:
    """Walk intake's chain to its head: intact, or the first record where it breaks."""
    return await CHAIN.verify(session)


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
    where: list[ColumnElement[bool]] = []
    if case_reference is not None:
        where.append(AuditRecord.case_reference == case_reference)
    if user_id is not None:
        where.append(AuditRecord.user_id == user_id)
    return await CHAIN.page(
        session, where=where, page=page, per_page=per_page, newest_first=newest_first
    )
