"""A case plan's tasks at rest (issue 20): one row each in `case_task`, its title and goal
sealed with the case's data key (purpose "intake.task"), everything lists and reminders need
(due date, status, who is responsible) in plain columns.

`add_task` is how every task is written (an officer's plan, or the follow-up visit a mediation
agreement calls for); `text_of` opens one; `erase` drops the seals of an erased case's tasks.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.models import Case, CaseTask
from jejaring.shared import crypto

PURPOSE = "intake.task"
OPEN = "open"
DONE = "done"
CANCELLED = "cancelled"


def _aad(case_id: uuid.UUID) -> bytes:
    return crypto.aad(case_id, PURPOSE)


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
    goal: str | None = None,
) -> CaseTask:
    """A new open task of `case` (flushed in the caller's transaction), its title and goal
    sealed with the case's data key `key`. The caller checked who may add it and to whom."""
    text = json.dumps({"title": title, "goal": goal}).encode()
    task = CaseTask(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind,
        sealed=crypto.seal(key, text, associated=_aad(case.id)),
        due_on=due_on,
        responsible_user_id=responsible_user_id,
        responsible_partner=responsible_partner,
        status=OPEN,
        created_by=created_by,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task


@dataclass(frozen=True)
class TaskText:
    title: str
    goal: str | None


def text_of(task: CaseTask, key: bytes | None) -> TaskText | None:
    """The task's title and goal; None once its case was erased (no key, or no seal)."""
    if key is None or task.sealed is None:
        return None
    opened = json.loads(crypto.unseal(key, task.sealed, associated=_aad(task.case_id)))
    return TaskText(title=str(opened["title"]), goal=opened.get("goal"))


async def erase(session: AsyncSession, case_id: uuid.UUID) -> None:
    """The seals of an erased case's tasks deleted (its key is gone too): the tasks stay as
    plain facts (due dates, status), without text."""
    await session.execute(update(CaseTask).where(CaseTask.case_id == case_id).values(sealed=None))


async def move(
    session: AsyncSession, *, case_id: uuid.UUID, into: uuid.UUID, keys: tuple[bytes, bytes]
) -> None:
    """A merged duplicate's tasks now belong to the kept case (merges.py), each text sealed
    again with the kept case's key (`keys`: the duplicate's, the kept case's)."""
    old, new = keys
    for task in await session.scalars(select(CaseTask).where(CaseTask.case_id == case_id)):
        if task.sealed is not None:
            text = crypto.unseal(old, task.sealed, associated=_aad(case_id))
            task.sealed = crypto.seal(new, text, associated=_aad(into))
        task.case_id = into
