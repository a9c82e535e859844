"""Merging a duplicate case into the case kept (the coordinator only), and what a case's page
shows of its possible duplicates and merges.

A merge closes the duplicate (outcome `duplicate`, a pointer to the kept case) and stages
`case.v1.merged` in the same transaction: referral re-binds the duplicate's referrals to the
kept case without cancelling them, and intake's read model of referrals moves with them, so
the kept case shows every referral and answer of both. Nothing personal moves: each case keeps
its own sealed record.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import StringConstraints
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import duplicates, rules
from jejaring.intake.api import Audit, Ctx, Who
from jejaring.intake.audit import Action, Trail
from jejaring.intake.auth import Principal, require_role
from jejaring.intake.cases import get_case
from jejaring.intake.errors import MergeIntoItself, MergeRefused, MergeTargetNotFound
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, CaseMerge, ReferralStep, ReferralView, UnmetNeed
from jejaring.intake.schemas import CaseRef, In, Out
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import CaseOutcome
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)


class MergeIn(In):
    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class MergedOut(Out):
    """A duplicate merged into the case kept."""

    case: CaseRef
    into: CaseRef
    merged_at: dt.datetime


class RelatedOut(Out):
    """A case (whether it is open, not erased: whether it may be merged), its possible
    duplicates (open cases whose victim matched), the case it was merged into, and the cases
    merged into it: ids and references only."""

    case: CaseRef
    mergeable: bool
    possible_duplicates: list[CaseRef]
    merged_into: CaseRef | None
    merged_from: list[CaseRef]


def ref(case: Case) -> CaseRef:
    return CaseRef(case_id=case.id, reference=case.reference)


async def _target(session: AsyncSession, into: str) -> Case:
    """The case `into` names, by id or by reference; 404 naming `into` if none."""
    try:
        found = await session.get(Case, uuid.UUID(into), with_for_update=True)
    except ValueError:
        found = await session.scalar(
            select(Case).where(Case.reference == into.upper()).with_for_update()
        )
    if found is None:
        raise MergeTargetNotFound()
    return found


def _check(case: Case, into: Case) -> None:
    """Why `case` may not be merged into `into`, if it may not."""
    if into.id == case.id:
        raise MergeIntoItself()
    if case.erased_at is not None:
        raise MergeRefused("case_erased")
    if case.status != "open":
        raise MergeRefused("case_closed")
    if into.erased_at is not None:
        raise MergeRefused("into_erased")
    if into.status != "open":
        raise MergeRefused("into_closed")
    if into.override_status == "pending":
        # The kept case is not announced to referral yet: it could not take referrals over.
        raise MergeRefused("into_waits_for_consent")


async def merge_case(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    into: str,
    by: Principal,
    outbox: Outbox,
    now: dt.datetime,
    trail: Trail,
    keyring: Keyring,
) -> tuple[Case, Case]:
    """Merge case `case_id` into the case `into` names (the coordinator only): the duplicate
    is closed as a duplicate with a pointer to the kept case, intake's read model of its
    referrals moves to the kept case, `case.v1.merged` is staged (`case.merge` in the audit
    trail). Returns (duplicate, kept)."""
    require_role(by, PersonRole.COORDINATOR)
    case = await get_case(session, case_id=case_id, by=by, keyring=keyring, lock=True)
    kept = await _target(session, into)
    _check(case, kept)
    case.status = "closed"
    case.outcome = CaseOutcome.DUPLICATE.value
    case.closed_at = case.updated_at = now
    case.version += 1
    session.add(CaseMerge(case_id=case.id, into_case_id=kept.id, merged_by=by.id, merged_at=now))
    await duplicates.forget(session, case.id)
    await move_read_model(session, case_id=case.id, into=kept.id)
    if case.announced:
        merged = ev.CaseMerged(
            case_id=case.id,
            reference=case.reference,
            into_case_id=kept.id,
            into_reference=kept.reference,
            merged_at=now,
        )
        await outbox.add(session, merged, time=now)
    await session.flush()
    await trail.record(session, Action.CASE_MERGE, case_reference=case.reference)
    log.info("case merged", extra={"into": kept.reference})
    return case, kept


async def move_read_model(session: AsyncSession, *, case_id: uuid.UUID, into: uuid.UUID) -> None:
    """The duplicate's referral statuses, steps and unmet needs now belong to the kept case (an
    unmet need the kept case has already stays once)."""
    for table in (ReferralView, ReferralStep):
        await session.execute(update(table).where(table.case_id == case_id).values(case_id=into))
    kept_needs = select(UnmetNeed.service).where(UnmetNeed.case_id == into)
    await session.execute(
        delete(UnmetNeed).where(UnmetNeed.case_id == case_id, UnmetNeed.service.in_(kept_needs))
    )
    await session.execute(
        update(UnmetNeed).where(UnmetNeed.case_id == case_id).values(case_id=into)
    )


router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.post("/cases/{case_id}/merge", response_model=MergedOut)
async def merge(case_id: uuid.UUID, body: MergeIn, who: Who, ctx: Ctx, trail: Audit) -> MergedOut:
    """Merge a duplicate case into the case kept (the coordinator only), `into` its id or
    reference: the duplicate is closed as a duplicate, pointing to the kept case, which keeps
    every referral and answer of both (none is cancelled). 422 merging a case into itself,
    404 if `into` names no case, 409 if either case is closed, merged or erased, or the kept
    case's consent override waits for confirmation."""
    async with ctx.sessions() as session, session.begin():
        case, kept = await merge_case(
            session,
            case_id=case_id,
            into=body.into,
            by=who,
            outbox=ctx.outbox,
            now=ctx.clock(),
            trail=trail,
            keyring=ctx.keyring,
        )
    assert case.closed_at is not None
    merged_at = case.closed_at.astimezone(rules.local_zone(ctx.region))
    return MergedOut(case=ref(case), into=ref(kept), merged_at=merged_at)


@router.get("/cases/{case_id}/duplicates", response_model=RelatedOut)
async def related_cases(case_id: uuid.UUID, who: Who, ctx: Ctx) -> RelatedOut:
    """A case's possible duplicates (open cases whose victim has the same name and birth
    date), the case it was merged into and the cases merged into it, for whoever may open the
    case: ids and references only."""
    async with ctx.sessions() as session:
        case = await get_case(session, case_id=case_id, by=who, keyring=ctx.keyring)
        found = await duplicates.related(session, case)
    return RelatedOut(
        case=ref(case),
        mergeable=case.status == "open" and case.erased_at is None,
        possible_duplicates=[ref(c) for c in found.possible],
        merged_into=ref(found.merged_into) if found.merged_into else None,
        merged_from=[ref(c) for c in found.merged_from],
    )
