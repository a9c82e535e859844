"""The audit trail in intake's API: the data protection officer and the coordinator read it
per case and per person; they and the admin verify the chain. Reading it is itself recorded."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from jejaring.intake import audit, rules
from jejaring.intake.api import Audit, Ctx, Who
from jejaring.intake.audit import Action
from jejaring.intake.auth import require_role
from jejaring.intake.models import User
from jejaring.intake.schemas import AuditPage, AuditRecordOut, AuditVerdictOut
from jejaring.shared.audit import shown, verified
from jejaring.shared.web.identity import PersonRole

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

READERS = (PersonRole.DPO, PersonRole.COORDINATOR)
VERIFIERS = (*READERS, PersonRole.ADMIN)


@router.get("", response_model=AuditPage)
async def read_trail(
    who: Who,
    ctx: Ctx,
    trail: Audit,
    case_reference: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    user_id: uuid.UUID | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    newest_first: bool = False,
) -> AuditPage:
    """Records about a case (`case_reference`) and/or by a person (`user_id`), oldest first
    or `newest_first`, with the names of who acted and of the user acted on (the data
    protection officer and the coordinator only)."""
    require_role(who, *READERS)
    async with ctx.sessions() as session:
        found, total = await audit.page(
            session,
            case_reference=case_reference,
            user_id=user_id,
            page=page,
            per_page=per_page,
            newest_first=newest_first,
        )
        ids = {r.user_id for r in found} | {r.subject_id for r in found if r.subject_id}
        names = dict(
            (await session.execute(select(User.id, User.name).where(User.id.in_(ids))))
            .tuples()
            .all()
        )
        await trail.record(
            session,
            Action.AUDIT_READ,
            case_reference=case_reference,
            subject_id=user_id,
            commit=True,
        )
    items = [
        item.model_copy(
            update={
                "user_name": names.get(item.user_id),
                "subject_name": names.get(item.subject_id) if item.subject_id else None,
            }
        )
        for item in shown(found, AuditRecordOut, rules.local_zone(ctx.region))
    ]
    return AuditPage(items=items, total=total, page=page, per_page=per_page)


@router.get("/verify", response_model=AuditVerdictOut)
async def verify_trail(who: Who, ctx: Ctx, trail: Audit) -> AuditVerdictOut:
    """Walk the hash chain: intact, or the first record where it breaks and why (the data
    protection officer, the coordinator and the admin)."""
    require_role(who, *VERIFIERS)
    async with ctx.sessions() as session:
        return await verified(
            session, audit.CHAIN, lambda: trail.record(session, Action.AUDIT_VERIFY, commit=True)
        )
