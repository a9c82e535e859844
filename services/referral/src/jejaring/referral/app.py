"""Referral's app factory: everything is built here from a settings object."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from jejaring.referral import service
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.http import service_app
from jejaring.shared.provision import agency_consumer_spec, agency_stream_spec, contract_streams
from jejaring.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def create_runtime(settings: ReferralSettings) -> ServiceRuntime:
    """Referral's messaging and database runtime."""

    async def seed(runtime: ServiceRuntime) -> None:
        if settings.seed_partners_file is None:
            return
        partners = service.read_partner_file(settings.seed_partners_file)
        async with runtime.sessions() as session, session.begin():
            await service.seed_partners(session, partners=partners)

    async def provision_partner_streams(runtime: ServiceRuntime) -> None:
        async with runtime.sessions() as session:
            slugs = await service.partner_slugs(session)
        await runtime.provision(
            [agency_stream_spec(slug, settings.stream_replicas) for slug in slugs],
            [agency_consumer_spec(slug) for slug in slugs],
        )

    return ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
        on_started=[seed],
        on_connected=[provision_partner_streams],
    )


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    """Build referral's HTTP app and its runtime."""
    return service_app(
        title="Jejaring referral", runtime=create_runtime(settings or ReferralSettings())
    )
