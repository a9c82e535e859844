"""Notify's app factory: everything is built here from a settings object."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from jejaring.notify import feedback, feedback_api
from jejaring.notify.api import Context, router
from jejaring.notify.channels import Channel
from jejaring.notify.consumers import CASE_WORK_CONSUMER, REFERRAL_EVENTS_CONSUMER
from jejaring.notify.handlers import case_work_handler, referral_event_handler
from jejaring.notify.metrics import deliveries_scrape
from jejaring.notify.registry import CHANNELS
from jejaring.notify.service import DISPATCH_BATCH, Dispatcher
from jejaring.notify.settings import NotifySettings
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.provision import contract_streams
from jejaring.shared.messaging.runtime import ServiceRuntime, Subscription
from jejaring.shared.web.http import service_app

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_runtime(
    settings: NotifySettings,
    *,
    clock: Clock = _utcnow,
    channels: dict[str, Channel] | None = None,
) -> ServiceRuntime:
    """Notify's messaging and database runtime, with its dispatcher. Refuses to start
    (ChannelConfigError) if the settings name a channel or backend the registry does not have."""
    CHANNELS.check(settings)
    wake = asyncio.Event()
    runtime = ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
    )
    keys = CaseKeys(lambda: runtime.nc)  # a survivor's sealed phone (feedback.py)
    runtime.subscriptions = [
        Subscription(REFERRAL_EVENTS_CONSUMER, referral_event_handler(settings, clock, wake)),
        Subscription(
            CASE_WORK_CONSUMER,
            case_work_handler(settings, clock, wake, keys),
            prepare=feedback.prepare(keys),
        ),
    ]
    dispatcher = Dispatcher(
        runtime.sessions,
        channels or CHANNELS.build(settings),
        settings,
        clock,
        tracing=runtime.tracing,
    )

    async def dispatch(rt: ServiceRuntime) -> None:
        while not rt.stopping:
            try:
                while await dispatcher.dispatch_due() == DISPATCH_BATCH:
                    pass  # a full batch: there may be more due
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("dispatch failed, will retry", extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=settings.dispatch_interval_s)
            wake.clear()

    runtime.workers = [("dispatcher", dispatch)]
    return runtime


def create_app(
    settings: NotifySettings | None = None,
    *,
    clock: Clock = _utcnow,
    channels: dict[str, Channel] | None = None,
) -> FastAPI:
    """Build notify's HTTP app and its runtime."""
    settings = settings or NotifySettings()
    runtime = create_runtime(settings, clock=clock, channels=channels)
    app = service_app(
        title="Jejaring notify",
        runtime=runtime,
        scrapes=[deliveries_scrape(runtime.sessions, list(CHANNELS.names))],
    )
    app.state.notify = Context(settings=settings, sessions=runtime.sessions, clock=clock)
    app.include_router(router)
    app.include_router(feedback_api.router)
    return app
