"""Notify's app factory: everything is built here from a settings object."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from jejaring.notify.settings import NotifySettings
from jejaring.shared.http import service_app
from jejaring.shared.provision import contract_streams
from jejaring.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def create_runtime(settings: NotifySettings) -> ServiceRuntime:
    """Notify's messaging and database runtime (its consumers arrive with the delivery log)."""
    return ServiceRuntime(
        settings=settings,
        migrations=MIGRATIONS,
        streams=contract_streams(settings.stream_replicas),
    )


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build notify's HTTP app and its runtime."""
    return service_app(
        title="Jejaring notify", runtime=create_runtime(settings or NotifySettings())
    )
