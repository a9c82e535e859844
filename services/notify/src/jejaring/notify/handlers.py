"""Notify's event handler: thin, it plans deliveries and wakes the dispatcher on commit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.notify import feedback, reminders, service
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.db import on_commit
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.consumer import Handler, PoisonMessage


def referral_event_handler(
    settings: NotifySettings, clock: Callable[[], dt.datetime], wake: asyncio.Event
) -> Handler:
    async def on_referral_event(session: AsyncSession, envelope: Envelope) -> None:
        """referral.v1.event.* -> queued deliveries (sent by the dispatcher)."""
        if await service.plan(session, envelope=envelope, settings=settings, now=clock()):
            on_commit(session, wake.set)

    return on_referral_event


def case_work_handler(
    settings: NotifySettings,
    clock: Callable[[], dt.datetime],
    wake: asyncio.Event,
    keys: CaseKeys | None = None,
) -> Handler:
    async def on_case_work(session: AsyncSession, envelope: Envelope) -> None:
        """case.v1.task.due -> a reminder to the officer; case.v1.feedback.requested -> one
        feedback SMS to the survivor (both sent by the dispatcher); case.v1.erased -> her
        request and her SMS not yet sent dropped."""
        data = envelope.data
        if isinstance(data, ev.CaseTaskDue):
            planned = await reminders.plan(session, due=data, settings=settings, now=clock())
        elif isinstance(data, ev.CaseFeedbackRequested):
            # the case's key, fetched before the transaction (feedback.prepare)
            key = keys.held(data.case_id) if keys is not None else None
            planned = await feedback.plan(
                session, asked=data, settings=settings, now=clock(), key=key
            )
        elif isinstance(data, ev.CaseErased):
            await feedback.forget_case(session, data)
            planned = False
        else:
            raise PoisonMessage(f"unexpected event type {envelope.type} for case work")
        if planned:
            on_commit(session, wake.set)

    return on_case_work
