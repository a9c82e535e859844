"""Intake's app factory: everything is built here from a settings object."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from jejaring.intake import (
    activities,
    attachments_api,
    audit_api,
    duplicates,
    erasure,
    merges,
    plan,
    plan_api,
    rules,
    sealing,
)
from jejaring.intake.accounts import AccountPolicy, Passwords
from jejaring.intake.api import Clock, Context, router
from jejaring.intake.attachments import Files
from jejaring.intake.consumers import REFERRAL_EVENTS_CONSUMER
from jejaring.intake.handlers import on_referral_event
from jejaring.intake.keyring import Keyring
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.messaging.keys import serve_keys
from jejaring.shared.messaging.provision import contract_streams
from jejaring.shared.messaging.runtime import ServiceRuntime, Subscription, periodic
from jejaring.shared.region import load_region
from jejaring.shared.web.http import service_app

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_runtime(
    settings: IntakeSettings, keyring: Keyring | None = None, *, clock: Clock = _utcnow
) -> ServiceRuntime:
    """Intake's messaging and database runtime: at start it seals the cases recorded before
    sealing and re-wraps the data keys of an older master key; once on NATS it answers key
    requests (keys.v1.case, a queue group shared by replicas) and runs the retention job."""
    keyring = keyring or Keyring(settings.keyring_keys())

    async def prepare_keys(runtime: ServiceRuntime) -> None:
        await sealing.seal_legacy(runtime.sessions, keyring, now=clock())
        await keyring.rewrap(runtime.sessions)
        await duplicates.index_open_cases(runtime.sessions, keyring, now=clock())

    serving: list[object] = []

    async def answer_keys(runtime: ServiceRuntime) -> None:
        if not serving and runtime.nc is not None:  # once: the client resubscribes itself
            serving.append(await serve_keys(runtime.nc, keyring.lookup(runtime.sessions)))

    async def retention(runtime: ServiceRuntime) -> None:
        after = dt.timedelta(days=settings.anonymise_after_days)
        job = periodic(
            "anonymise",
            settings.anonymise_interval_s,
            lambda _session: erasure.anonymise(
                runtime.sessions,
                keyring=keyring,
                outbox=runtime.outbox,
                clock=clock,
                after=after,
                files=Files(settings.attachments_path),
            ),
            transaction=False,  # a transaction per batch
        )
        await job(runtime)

    zone = rules.local_zone(load_region(settings.region_file))

    async def reminders(runtime: ServiceRuntime) -> None:
        job = periodic(
            "task-reminders",
            settings.task_reminder_interval_s,
            lambda _session: plan.remind(
                runtime.sessions, outbox=runtime.outbox, clock=clock, zone=zone
            ),
            transaction=False,  # a transaction per batch
        )
        await job(runtime)

    return ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
        # A read model: a case's three referral events are handled in one transaction.
        subscriptions=[Subscription(REFERRAL_EVENTS_CONSUMER, on_referral_event, linger=0.05)],
        on_started=[prepare_keys],
        on_connected=[answer_keys],
        workers=[("anonymise", retention), ("task-reminders", reminders)],
    )


def create_app(settings: IntakeSettings | None = None, *, clock: Clock = _utcnow) -> FastAPI:
    """Build intake's HTTP app and its runtime."""
    settings = settings or IntakeSettings()
    keyring = Keyring(settings.keyring_keys())
    runtime = create_runtime(settings, keyring, clock=clock)
    app = service_app(
        title="Jejaring intake",
        runtime=runtime,
        larger_bodies=attachments_api.larger_bodies(settings),
    )
    app.state.intake = Context(
        settings=settings,
        region=load_region(settings.region_file),
        sessions=runtime.sessions,
        outbox=runtime.outbox,
        clock=clock,
        policy=AccountPolicy.of(settings),
        passwords=Passwords(),
        keyring=keyring,
    )
    app.include_router(router)
    app.include_router(audit_api.router)
    app.include_router(erasure.router)
    app.include_router(activities.router)
    app.include_router(merges.router)
    app.include_router(plan_api.router)
    app.include_router(attachments_api.router)
    return app
