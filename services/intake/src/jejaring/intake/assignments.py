"""Need to know: who sees a case in full (its recorder, officers assigned to it, the
coordinator) and who sees it only as a line of the list (other officers of its kelurahan)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.auth import Principal, require_role
from jejaring.intake.errors import NotAnOfficerHere
from jejaring.intake.models import Case, CaseAssignment, User
from jejaring.shared.web.identity import PersonRole


async def restricted(session: AsyncSession, found: list[Case], *, by: Principal) -> set[uuid.UUID]:
    """The cases of `found` that `by` sees in the list only (need to know): an officer's, of
    their kelurahan, that they did not record and are not assigned to. The coordinator sees
    every case in full."""
    if by.role == PersonRole.COORDINATOR:
        return set()
    others = [c.id for c in found if c.created_by != by.id]
    if not others:
        return set()
    assigned = await session.scalars(
        select(CaseAssignment.case_id).where(
            CaseAssignment.user_id == by.id, CaseAssignment.case_id.in_(others)
        )
    )
    return set(others) - set(assigned.all())


async def assign_officer(
    session: AsyncSession,
    *,
    case: Case,
    officer_id: uuid.UUID,
    by: Principal,
    now: dt.datetime,
) -> None:
    """The coordinator assigns an active officer of the case's kelurahan to the case (found
    with `cases.get_case`), who then sees it in full. Assigning twice changes nothing."""
    require_role(by, PersonRole.COORDINATOR)
    officer = await session.get(User, officer_id)
    if (
        officer is None
        or not officer.active
        or officer.role != PersonRole.OFFICER
        or officer.kelurahan_code != case.kelurahan_code
    ):
        raise NotAnOfficerHere()
    if await session.get(CaseAssignment, (case.id, officer.id)) is None:
        session.add(
            CaseAssignment(case_id=case.id, user_id=officer.id, assigned_by=by.id, assigned_at=now)
        )
        await session.flush()


async def assigned_to(session: AsyncSession, *, case_id: uuid.UUID) -> list[uuid.UUID]:
    """The officers assigned to a case, in the order they were assigned."""
    rows = await session.scalars(
        select(CaseAssignment.user_id)
        .where(CaseAssignment.case_id == case_id)
        .order_by(CaseAssignment.assigned_at)
    )
    return list(rows.all())
