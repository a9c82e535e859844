"""A case-plan task due tomorrow -> one reminder to the person responsible (issue 20).

The text names the case's reference and the due date only (template `task_due`): never the
task's title or goal, nor anything of the case. It honours the person's channel and quiet hours
like any alert that is not urgent (service.py). One reminder per task, however often intake
sends the event: the delivery's key is the task, not the message.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.notify import service
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev


async def plan(
    session: AsyncSession, *, due: ev.CaseTaskDue, settings: NotifySettings, now: dt.datetime
) -> bool:
    """Queue the reminder; True when something was queued."""
    event_id = f"task-due:{due.task_id}"
    return (
        await service.plan_event(session, event=due, event_id=event_id, settings=settings, now=now)
        > 0
    )
