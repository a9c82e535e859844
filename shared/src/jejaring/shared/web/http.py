"""HTTP plumbing every service mounts: liveness and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from jejaring.shared.messaging.outbox import unsent_count
from jejaring.shared.messaging.runtime import ServiceRuntime
from jejaring.shared.tracing import TracingMiddleware
from jejaring.shared.web.errors import install_error_handlers


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
            body["outbox_unsent"] = await unsent_count(runtime.sessions)
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


def service_app(*, title: str, runtime: ServiceRuntime, version: str = "0.1.0") -> FastAPI:
    """A FastAPI app whose lifespan starts and stops `runtime`, with the health routes."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.include_router(health_router(runtime))
    install_error_handlers(app)
    app.add_middleware(TracingMiddleware, tracing=runtime.tracing)  # outermost: sees every status
    return app
