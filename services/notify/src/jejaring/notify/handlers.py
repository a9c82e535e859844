"""Notify's event handler: thin, it plans deliveries and wakes the dispatcher on commit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.notify import service
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.db import on_commit
from jejaring.shared.messaging.consumer import Handler
from jejaring.shared.messaging.provision import ConsumerSpec

REFERRAL_EVENTS_CONSUMER = ConsumerSpec(
    stream=subjects.REFERRAL_EVENTS_STREAM,
    durable="notify-referral-events",
    filter_subjects=(subjects.REFERRAL_EVENTS_ALL,),
    description="notify alerts people about referral events",
)


def referral_event_handler(
    settings: NotifySettings, clock: Callable[[], dt.datetime], wake: asyncio.Event
) -> Handler:
    async def on_referral_event(session: AsyncSession, envelope: Envelope) -> None:
        """referral.v1.event.* -> queued deliveries (sent by the dispatcher)."""
        if await service.plan(session, envelope=envelope, settings=settings, now=clock()):
            on_commit(session, wake.set)

    return on_referral_event
