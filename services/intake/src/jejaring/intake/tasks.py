"""A case plan's tasks (`case_task`): the one function that writes a task, shared by the case
plan's API and by a mediation agreement's follow-up visit (activities.py)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.models import Case, CaseTask
from jejaring.shared import crypto

PURPOSE = "intake.task"


async def add_task(
    session: AsyncSession,
    *,
    case: Case,
    kind: str,
    title: str,
    due_on: dt.date,
    responsible_user_id: uuid.UUID | None,
    responsible_partner: str | None,
    created_by: uuid.UUID,
    key: bytes,
    now: dt.datetime,
) -> CaseTask:
    """An open task of the case, its title sealed with the case's data key `key` (flushed in
    the caller's transaction)."""
    task = CaseTask(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind,
        sealed=crypto.seal(key, title.encode(), associated=crypto.aad(case.id, PURPOSE)),
        due_on=due_on,
        responsible_user_id=responsible_user_id,
        responsible_partner=responsible_partner,
        status="open",
        created_by=created_by,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task
