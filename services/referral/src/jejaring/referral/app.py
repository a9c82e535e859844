"""Referral's app factory: everything is built here from a settings object."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import (
    asyncapi,
    audit,
    audit_api,
    deadlines,
    partners,
    policy,
    repair,
    retention,
)
from jejaring.referral.api import Clock, Context, docs_router, router
from jejaring.referral.consumers import CASES_CONSUMER, REPLIES_CONSUMER
from jejaring.referral.facts import Deps
from jejaring.referral.handlers import case_handler, reply_handler
from jejaring.referral.metrics import referrals_scrape
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.provision import (
    agency_consumer_spec,
    agency_stream_spec,
    contract_streams,
)
from jejaring.shared.messaging.runtime import ServiceRuntime, Subscription, periodic
from jejaring.shared.region import load_region
from jejaring.shared.web.http import service_app

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_runtime(settings: ReferralSettings, *, clock: Clock = _utcnow) -> ServiceRuntime:
    """Referral's messaging and database runtime. Refuses to make one if a rule table lacks a
    partner kind (policy.PolicyIncomplete), rather than dead-letter that kind's cases later."""
    policy.check_r6()

    async def seed(runtime: ServiceRuntime) -> None:
        if settings.seed_partners_file is None:
            return
        seeded = partners.read_partner_file(settings.seed_partners_file)
        async with runtime.sessions() as session, session.begin():
            for slug in await partners.seed_partners(session, partners=seeded):
                await audit.system_trail(clock).record(
                    session, audit.Action.PARTNER_ADD, partner=slug
                )

    async def provision_partner_streams(runtime: ServiceRuntime) -> None:
        async with runtime.sessions() as session:
            slugs = await partners.partner_slugs(session)
        await runtime.provision(
            [agency_stream_spec(slug, settings.stream_replicas) for slug in slugs],
            [agency_consumer_spec(slug) for slug in slugs],
        )

    runtime = ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
        on_started=[seed],
        on_connected=[provision_partner_streams],
        on_sent=retention.record_request_seqs,
    )
    keys = CaseKeys(lambda: runtime.nc)
    runtime.outbox_keys = keys.for_outbox  # partners' requests wait in the outbox sealed
    d = Deps(outbox=runtime.outbox, region=load_region(settings.region_file), keys=keys)
    runtime.subscriptions = [
        Subscription(CASES_CONSUMER, case_handler(d, clock), prepare=keys.prepare),
        # partners write REPLIES: their junk is dead-lettered without its body, logged sparingly
        Subscription(REPLIES_CONSUMER, reply_handler(d, clock), outsiders=True),
    ]

    async def repair_streams(session: AsyncSession) -> int:
        assert runtime.js is not None
        return await repair.repair_streams(session, js=runtime.js, deps=d, clock=clock)

    async def forget_unfetched(session: AsyncSession) -> int:
        assert runtime.js is not None
        return await retention.forget_unfetched(session, js=runtime.js, deps=d)

    sweep = repair.Sweep()  # the reconciler's place among the open cases
    runtime.workers = [
        (
            "forget-unfetched",
            periodic(
                "forget unfetched requests",
                settings.forget_interval_s,
                forget_unfetched,
                transaction=False,
                logger=log,
            ),
        ),
        (
            "stream-repair",
            periodic(
                "stream repair",
                settings.reconcile_interval_s,
                repair_streams,
                transaction=False,
                first_delay=settings.reconcile_interval_s / 2,  # not in the reconciler's minute
                logger=log,
            ),
        ),
        (
            "deadlines",
            periodic(
                "deadline check",
                settings.deadline_check_interval_s,
                # an escalation reads a case's personal fields: keys are fetched outside the
                # transaction (casekeys.py)
                lambda s: keys.run(s, lambda t: deadlines.check_deadlines(t, deps=d, now=clock())),
                transaction=False,
                logger=log,
            ),
        ),
        (
            "reconciler",
            periodic(
                "reconciler",
                settings.reconcile_interval_s,
                lambda s: keys.run(
                    s, lambda t: repair.reconcile(t, deps=d, now=clock(), sweep=sweep)
                ),
                transaction=False,
                logger=log,
            ),
        ),
    ]
    return runtime


def create_app(settings: ReferralSettings | None = None, *, clock: Clock = _utcnow) -> FastAPI:
    """Build referral's HTTP app and its runtime."""
    settings = settings or ReferralSettings()
    runtime = create_runtime(settings, clock=clock)
    app = service_app(
        title="Jejaring referral", runtime=runtime, scrapes=[referrals_scrape(runtime.sessions)]
    )
    app.state.referral = Context(
        settings=settings,
        deps=Deps(outbox=runtime.outbox, region=load_region(settings.region_file)),
        runtime=runtime,
        clock=clock,
        asyncapi=lambda: asyncapi.partner_contract(settings.nats_url.split(",")[0]),
    )
    app.include_router(router)
    app.include_router(audit_api.router)
    app.include_router(docs_router)
    return app
