"""Intake's app factory: everything is built here from a settings object."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from jejaring.intake import audit_api
from jejaring.intake.accounts import AccountPolicy, Passwords
from jejaring.intake.api import Clock, Context, router
from jejaring.intake.handlers import REFERRAL_EVENTS_CONSUMER, on_referral_event
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.messaging.provision import contract_streams
from jejaring.shared.messaging.runtime import ServiceRuntime, Subscription
from jejaring.shared.region import load_region
from jejaring.shared.web.http import service_app

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_runtime(settings: IntakeSettings) -> ServiceRuntime:
    """Intake's messaging and database runtime."""
    return ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
        subscriptions=[Subscription(REFERRAL_EVENTS_CONSUMER, on_referral_event)],
    )


def create_app(settings: IntakeSettings | None = None, *, clock: Clock = _utcnow) -> FastAPI:
    """Build intake's HTTP app and its runtime."""
    settings = settings or IntakeSettings()
    runtime = create_runtime(settings)
    app = service_app(title="Jejaring intake", runtime=runtime)
    app.state.intake = Context(
        settings=settings,
        region=load_region(settings.region_file),
        sessions=runtime.sessions,
        outbox=runtime.outbox,
        clock=clock,
        policy=AccountPolicy.of(settings),
        passwords=Passwords(),
    )
    app.include_router(router)
    app.include_router(audit_api.router)
    return app
