"""Referral's audit trail in its API: the data protection officer and the coordinator read it
per partner, per person and per case; they and the admin verify the chain. Reading it is
itself recorded."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from jejaring.referral import audit
from jejaring.referral.api import Audit, Caller, Ctx, Who
from jejaring.referral.audit import Action
from jejaring.referral.errors import AuditReadersOnly
from jejaring.referral.schemas import AuditPage, AuditRecordOut
from jejaring.shared.audit import AuditVerdictOut, shown, verified
from jejaring.shared.contract.events import Slug
from jejaring.shared.web.identity import PersonRole

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

READERS = (PersonRole.DPO, PersonRole.COORDINATOR)


def reader(who: Caller) -> bool:
    return who.person is not None and who.person.role in READERS


@router.get("", response_model=AuditPage)
async def read_trail(
    who: Who,
    ctx: Ctx,
    trail: Audit,
    partner: Slug | None = None,
    user_id: uuid.UUID | None = None,
    case_reference: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Records about a partner (`partner`), by a person (`user_id`) and/or about a case
    (`case_reference`), oldest first (the data protection officer and the coordinator only)."""
    if not reader(who):
        raise AuditReadersOnly()
    async with ctx.sessions() as session:
        found, total = await audit.page(
            session,
            partner=partner,
            user_id=user_id,
            case_reference=case_reference,
            page=page,
            per_page=per_page,
        )
        await trail.record(
            session,
            Action.AUDIT_READ,
            partner=partner,
            case_reference=case_reference,
            subject_id=user_id,
            commit=True,
        )
    items = shown(found, AuditRecordOut, ZoneInfo(ctx.deps.region.timezone))
    return AuditPage(items=items, total=total, page=page, per_page=per_page)


@router.get("/verify", response_model=AuditVerdictOut)
async def verify_trail(who: Who, ctx: Ctx, trail: Audit) -> AuditVerdictOut:
    """Walk the hash chain: intact, or the first record where it breaks and why (the data
    protection officer, the coordinator and the admin)."""
    if not (who.admin or reader(who)):
        raise AuditReadersOnly()
    async with ctx.sessions() as session:
        return await verified(
            session, audit.CHAIN, lambda: trail.record(session, Action.AUDIT_VERIFY, commit=True)
        )
