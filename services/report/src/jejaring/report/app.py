"""Report's app factory: everything is built here from a settings object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from jejaring.report import rebuild
from jejaring.report.api import Context, router
from jejaring.report.consumers import CASES_CONSUMER, REFERRAL_EVENTS_CONSUMER
from jejaring.report.exports_api import router as exports_router
from jejaring.report.handlers import on_event
from jejaring.report.settings import ReportSettings
from jejaring.shared.messaging.provision import contract_streams
from jejaring.shared.messaging.runtime import ServiceRuntime, Subscription
from jejaring.shared.web.http import service_app

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_runtime(settings: ReportSettings) -> ServiceRuntime:
    """Report's messaging and database runtime: two consumers, nothing it publishes."""
    runtime = ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
    )
    runtime.subscriptions = [
        # Figures for the coordinator: a tenth of a second late, a transaction for several.
        Subscription(CASES_CONSUMER, on_event, linger=0.1),
        Subscription(REFERRAL_EVENTS_CONSUMER, on_event, linger=0.1),
    ]
    return runtime


def create_app(settings: ReportSettings | None = None, *, clock: Clock = _utcnow) -> FastAPI:
    """Build report's HTTP app and its runtime."""
    settings = settings or ReportSettings()
    runtime = create_runtime(settings)
    app = service_app(title="Jejaring report", runtime=runtime)
    app.state.report = Context(settings=settings, sessions=runtime.sessions, clock=clock)
    app.include_router(router)
    app.include_router(exports_router)
    app.include_router(rebuild.router)
    return app
