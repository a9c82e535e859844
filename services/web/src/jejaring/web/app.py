"""The web app's factory: everything is built here from a settings object."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from jejaring.shared import db, metrics
from jejaring.shared.migrate import Schema
from jejaring.shared.region import load_region
from jejaring.shared.tracing import Tracing, TracingMiddleware
from jejaring.web import (
    account,
    activities,
    admin,
    admin_partners,
    attachments,
    coordinator,
    duplicates,
    home,
    officer,
    partner,
    plan,
    privacy,
    record,
    reports,
)
from jejaring.web.pages import Web, environment, install_handlers
from jejaring.web.security import SecurityHeaders
from jejaring.web.sessions import Clock, SessionStore
from jejaring.web.settings import WebSettings
from jejaring.web.upstream import Upstream

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
STATIC = Path(__file__).parent / "static"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: WebSettings | None = None,
    *,
    clock: Clock = _utcnow,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the web app. `transport` replaces the network to the services (tests)."""
    settings = settings or WebSettings()
    engine = settings.create_engine()
    sessions = db.session_factory(engine)
    schema = Schema(
        settings.db_url,
        MIGRATIONS,
        lock_name="jejaring-web",
        plumbing=False,
        lock_timeout_ms=settings.db_lock_timeout_ms,
    )
    tracing = Tracing.for_service("web", endpoint=settings.otlp_endpoint)
    upstream = Upstream(settings, transport)
    web = Web(
        settings=settings,
        region=load_region(settings.region_file),
        store=SessionStore(sessions, settings, clock, upstream),
        upstream=upstream,
        clock=clock,
        env=environment(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await schema.ensure(engine)
        try:
            yield
        finally:
            await upstream.aclose()
            await engine.dispose()
            await asyncio.to_thread(tracing.shutdown)

    app = FastAPI(
        title="Jejaring web", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.web = web
    app.state.schema = schema  # serve() migrates before the event loop (migrate.py)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "web"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            await db.ping(engine)
        except Exception as exc:
            checks = {"database": type(exc).__name__}
        else:
            checks = {"database": "ok"}
        ready = checks["database"] == "ok"
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": "web", "checks": checks},
            status_code=200 if ready else 503,
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        account,
        activities,
        home,
        record,
        officer,
        plan,
        partner,
        coordinator,
        reports,
        duplicates,
        privacy,
        admin,
        admin_partners,
        attachments,
    ):
        app.include_router(module.router)
    install_handlers(app)
    home.install(app)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    metrics.install(app)
    # Outermost: a page's calls to the services continue its trace (upstream.py).
    app.add_middleware(TracingMiddleware, tracing=tracing)
    return app
