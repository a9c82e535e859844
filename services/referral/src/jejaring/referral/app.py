"""Referral's app factory: everything is built here from a settings object."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import asyncapi, deadlines, partners, repair
from jejaring.referral.api import Clock, Context, docs_router, router
from jejaring.referral.facts import Deps
from jejaring.referral.handlers import CASES_CONSUMER, REPLIES_CONSUMER, case_handler, reply_handler
from jejaring.referral.settings import ReferralSettings
from jejaring.shared import subjects
from jejaring.shared.http import service_app
from jejaring.shared.provision import agency_consumer_spec, agency_stream_spec, contract_streams
from jejaring.shared.region import load_region
from jejaring.shared.runtime import ServiceRuntime, Subscription

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


REPAIR_PACE = 50  # stream checks between short pauses


def _periodic(
    name: str,
    interval: float,
    job: Callable[[AsyncSession], Awaitable[int]],
    *,
    transaction: bool = True,
    first_delay: float = 0.0,
) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """A worker that runs `job` every `interval` seconds, in its own transaction unless the job
    opens its own (one that waits on the network must not hold SQLite's write lock)."""

    async def worker(runtime: ServiceRuntime) -> None:
        await asyncio.sleep(first_delay)
        while not runtime.stopping:
            try:
                async with runtime.sessions() as session:
                    if transaction:
                        async with session.begin():
                            await job(session)
                    else:
                        await job(session)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "periodic job failed, will retry",
                    extra={"job": name, "error": type(exc).__name__},
                )
            await asyncio.sleep(interval)

    return worker


def create_runtime(settings: ReferralSettings, *, clock: Clock = _utcnow) -> ServiceRuntime:
    """Referral's messaging and database runtime."""

    async def seed(runtime: ServiceRuntime) -> None:
        if settings.seed_partners_file is None:
            return
        seeded = partners.read_partner_file(settings.seed_partners_file)
        async with runtime.sessions() as session, session.begin():
            await partners.seed_partners(session, partners=seeded)

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
    )
    d = Deps(outbox=runtime.outbox, region=load_region(settings.region_file))
    runtime.subscriptions = [
        Subscription(CASES_CONSUMER, case_handler(d, clock)),
        Subscription(REPLIES_CONSUMER, reply_handler(d, clock)),
    ]

    async def repair_streams(session: AsyncSession) -> int:
        """The reconciler's second half: a request JetStream acknowledged but no longer holds
        (a broker that lost an acknowledged write) is published again."""
        assert runtime.js is not None
        async with session.begin():
            published = await repair.published_requests(session)
        missing = []
        for n, (referral, slug, seq) in enumerate(published):  # no transaction open here
            if n % REPAIR_PACE == REPAIR_PACE - 1:
                await asyncio.sleep(0.05)  # a thousand checks at once were a latency spike
            try:
                await runtime.js.get_msg(subjects.agency_stream(slug), seq)
            except NotFoundError:
                missing.append(referral)
        if missing:
            async with session.begin():
                for referral in missing:
                    await repair.redrive_request(session, referral=referral, deps=d, now=clock())
        return len(missing)

    runtime.workers = [
        (
            "stream-repair",
            _periodic(
                "stream repair",
                settings.reconcile_interval_s,
                repair_streams,
                transaction=False,
                first_delay=settings.reconcile_interval_s / 2,  # not in the reconciler's minute
            ),
        ),
        (
            "deadlines",
            _periodic(
                "deadline check",
                settings.deadline_check_interval_s,
                lambda s: deadlines.check_deadlines(s, deps=d, now=clock()),
            ),
        ),
        (
            "reconciler",
            _periodic(
                "reconciler",
                settings.reconcile_interval_s,
                lambda s: repair.reconcile(s, deps=d, now=clock()),
            ),
        ),
    ]
    return runtime


def create_app(settings: ReferralSettings | None = None, *, clock: Clock = _utcnow) -> FastAPI:
    """Build referral's HTTP app and its runtime."""
    settings = settings or ReferralSettings()
    runtime = create_runtime(settings, clock=clock)
    app = service_app(title="Jejaring referral", runtime=runtime)
    app.state.referral = Context(
        settings=settings,
        deps=Deps(outbox=runtime.outbox, region=load_region(settings.region_file)),
        runtime=runtime,
        clock=clock,
        asyncapi=lambda: asyncapi.partner_contract(settings.nats_url.split(",")[0]),
    )
    app.include_router(router)
    app.include_router(docs_router)
    return app
