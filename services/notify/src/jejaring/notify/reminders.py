"""A case-plan task due tomorrow -> one reminder to the officer responsible (issue 20)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev


async def plan(
    session: AsyncSession, *, due: ev.CaseTaskDue, settings: NotifySettings, now: dt.datetime
) -> bool:
    """Queue the delivery; True when something was queued. (Built in issue 20.)"""
    raise NotImplementedError
