"""HTTP plumbing every service mounts: liveness, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from prometheus_client.core import Metric

from jejaring.shared import metrics
from jejaring.shared.messaging.outbox import unsent_backlog
from jejaring.shared.messaging.runtime import ServiceRuntime
from jejaring.shared.tracing import TracingMiddleware
from jejaring.shared.web.errors import Larger, install_error_handlers

log = logging.getLogger(__name__)


def health_router(runtime: ServiceRuntime) -> APIRouter:
    """`/healthz` (the process answers) and `/readyz` (database, NATS and streams answer)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, object] = {
            "status": "ready" if ready else "not ready",
            "service": runtime.name,
            "checks": checks,
        }
        if checks["database"] == "ok":
            body["outbox_unsent"], _ = await unsent_backlog(runtime.sessions)
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


def runtime_scrape(runtime: ServiceRuntime) -> metrics.Scrape:
    """The messaging state every service has: outbox backlog and each consumer's pending."""

    async def scrape() -> list[Metric]:
        count, age = await unsent_backlog(runtime.sessions)
        families: list[Metric] = [
            metrics.gauge("jejaring_outbox_backlog", "Outbox rows not yet published.", {(): count}),
            metrics.gauge(
                "jejaring_outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox row (0 when none waits).",
                {(): age},
            ),
        ]
        js = runtime.js
        if js is None or not runtime.consumers:
            return families
        pending: dict[tuple[str, ...], float] = {}
        unacked: dict[tuple[str, ...], float] = {}
        for consumer in list(runtime.consumers):
            spec = consumer.spec
            try:
                info = await js.consumer_info(spec.stream, spec.durable, timeout=2)
            except Exception as exc:  # NATS away: no sample rather than a stale one
                log.info(
                    "consumer info not available for metrics",
                    extra={"consumer": spec.durable, "error": type(exc).__name__},
                )
                continue
            pending[(spec.durable,)] = info.num_pending or 0
            unacked[(spec.durable,)] = info.num_ack_pending or 0
        families += [
            metrics.gauge(
                "jejaring_consumer_pending",
                "Messages in the stream not yet delivered to this durable consumer.",
                pending,
                ["consumer"],
            ),
            metrics.gauge(
                "jejaring_consumer_ack_pending",
                "Messages delivered to this durable consumer and not yet acked.",
                unacked,
                ["consumer"],
            ),
        ]
        return families

    return scrape


def service_app(
    *,
    title: str,
    runtime: ServiceRuntime,
    version: str = "0.1.0",
    scrapes: Sequence[metrics.Scrape] = (),
    larger_bodies: Sequence[Larger] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan starts and stops `runtime`, with the health routes and
    `/metrics` (the runtime's outbox and consumers, then the service's own `scrapes`).
    `larger_bodies`: the upload routes that take more than the usual body limit."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.schema = runtime.schema  # serve() migrates before the event loop (migrate.py)
    app.include_router(health_router(runtime))
    metrics.install(app, [runtime_scrape(runtime), *scrapes])
    install_error_handlers(app, larger=larger_bodies)
    app.add_middleware(TracingMiddleware, tracing=runtime.tracing)  # outermost: sees every status
    return app
