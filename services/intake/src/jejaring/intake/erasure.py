"""Erasure (crypto-shredding): a case's data key deleted with its sealed personal fields, by
a data protection officer (`POST /cases/{id}/erase`) or by the retention job, one function
for both (`erase`).

What is erased: the case's data key (so every sealed copy, on CASES, at referral or in a
backup, is unreadable from then on) and the seal in its row; `case.v1.erased` tells the other
services to drop what they still hold. What stays: the case's plain facts (kelurahan, dates,
forms of violence, risk, ages, sexes, needs, status, outcome) for statistics, and the audit
trail, which never held personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.intake import activities, duplicates, rules, sealing
from jejaring.intake.api import Audit, Clock, Ctx, Who
from jejaring.intake.audit import SYSTEM_ID, Action, Trail
from jejaring.intake.auth import Principal, require_role
from jejaring.intake.batches import in_batches
from jejaring.intake.errors import CaseErased, CaseNotFound
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case
from jejaring.intake.schemas import CaseFound, ErasedOut, EraseIn
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import CaseOutcome
from jejaring.shared.logs import bind_case
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)

Why = Literal["erasure", "retention"]
SYSTEM = Principal(id=SYSTEM_ID, name="intake retention", role=PersonRole.DPO)
BATCH = 100


async def erase(
    session: AsyncSession,
    case: Case,
    *,
    why: Why,
    reason: str | None,
    keyring: Keyring,
    outbox: Outbox,
    trail: Trail,
    now: dt.datetime,
) -> None:
    """Erase the case's personal data in the caller's transaction: its data key and its seal
    deleted, `case.erase` in the audit trail, `case.v1.erased` staged (when other services
    know the case). An open case is closed as withdrawn: nobody can work on it any more
    (referral cancels its referrals on `case.v1.erased`). 409 if it was erased already."""
    if case.erased_at is not None:
        raise CaseErased()
    await keyring.erase(session, case.id)
    sealing.erase(case, now=now, why=why, reason=reason)
    await activities.erase(session, case.id)
    await duplicates.erased(session, case.id)
    if case.status == "open":
        case.status, case.outcome, case.closed_at = "closed", CaseOutcome.WITHDRAWN.value, now
        case.updated_at = now
    await session.flush()
    if case.announced:
        erased = ev.CaseErased(case_id=case.id, reference=case.reference, erased_at=now, why=why)
        await outbox.add(session, erased, time=now)
    await trail.record(session, Action.CASE_ERASE, case_reference=case.reference)


async def anonymise(
    sessions: async_sessionmaker[AsyncSession],
    *,
    keyring: Keyring,
    outbox: Outbox,
    clock: Clock,
    after: dt.timedelta,
) -> int:
    """Erase (why "retention"), batch by batch, every closed case closed longer than `after`
    ago and not erased yet. Returns how many."""
    trail = Trail(who=SYSTEM, client=None, clock=clock)
    now = clock()

    async def expire(session: AsyncSession, case: Case) -> None:
        await erase(
            session,
            case,
            why="retention",
            reason=None,
            keyring=keyring,
            outbox=outbox,
            trail=trail,
            now=now,
        )

    due = select(Case).where(
        Case.status == "closed", Case.closed_at < now - after, Case.erased_at.is_(None)
    )
    done = await in_batches(sessions, due.order_by(Case.closed_at), expire, size=BATCH)
    if done:
        log.info("closed cases past the retention period anonymised", extra={"count": done})
    return done


router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.post("/cases/{case_id}/erase", response_model=ErasedOut)
async def erase_case(
    case_id: uuid.UUID, body: EraseIn, who: Who, ctx: Ctx, trail: Audit
) -> ErasedOut:
    """Erase a case's personal data for good (the data protection officer only): its data
    key is deleted, so no copy of its names, contacts, description or notes can be read
    again, here or at any partner; its plain facts stay for statistics. 409 if erased
    already."""
    require_role(who, PersonRole.DPO)
    async with ctx.sessions() as session:
        async with session.begin():
            case = await session.get(Case, case_id, with_for_update=True)
            if case is None:
                raise CaseNotFound()
            bind_case(case.reference)
            await erase(
                session,
                case,
                why="erasure",
                reason=body.reason.value,
                keyring=ctx.keyring,
                outbox=ctx.outbox,
                trail=trail,
                now=ctx.clock(),
            )
        log.info("case personal data erased", extra={"why": "erasure"})
        return ErasedOut.model_validate(case)


@router.get("/cases/by-reference/{reference}", response_model=CaseFound)
async def find_by_reference(reference: str, who: Who, ctx: Ctx, trail: Audit) -> CaseFound:
    """Which case a reference names and whether it was erased, no personal data (the data
    protection officer only: a person asking to be forgotten gives their reference)."""
    require_role(who, PersonRole.DPO)
    async with ctx.sessions() as session:
        case = await session.scalar(select(Case).where(Case.reference == reference.strip()))
        if case is None:
            raise CaseNotFound()
        await trail.record(session, Action.CASE_LOOKUP, case_reference=case.reference, commit=True)
        zone = rules.local_zone(ctx.region)
        found = CaseFound.model_validate(case)
        return found.model_copy(
            update={
                "reported_at": case.reported_at.astimezone(zone),
                "erased_at": case.erased_at.astimezone(zone) if case.erased_at else None,
            }
        )
