"""Run a service's ASGI app under uvicorn, with a clear line when its port is taken."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from jejaring.shared.logs import configure_logging
from jejaring.shared.messaging.natsserver import port_free
from jejaring.shared.migrate import MigrationFailed, Schema
from jejaring.shared.secrets import env_name
from jejaring.shared.settings import ProcessSettings

S = TypeVar("S", bound=ProcessSettings)

_M_ARENA_MAX = -8  # glibc's mallopt parameter

log = logging.getLogger(__name__)


def settings_problems(settings_cls: type[ProcessSettings], exc: ValidationError) -> list[str]:
    """Each reason `settings_cls` refused its environment, naming the variable (never its
    value)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = error["loc"][0] if error["loc"] else None
        message = error["msg"].removeprefix("Value error, ")
        if isinstance(where, str) and where in settings_cls.model_fields:
            message = f"{env_name(settings_cls, where)}: {message}"
        problems.append(message)
    return problems


def settings_or_exit(settings_cls: type[S]) -> S:
    """The settings from the environment; invalid ones end the process with one line naming
    each variable and the reason (never its value) and exit code 78 (EX_CONFIG)."""
    try:
        return settings_cls()
    except ValidationError as exc:
        problems = settings_problems(settings_cls, exc)
        service = settings_cls.model_fields["service"].default
        print(f"jejaring-{service}: cannot start: {'; '.join(problems)}", file=sys.stderr)
        raise SystemExit(os.EX_CONFIG) from None


def one_malloc_arena() -> bool:
    """Make every thread of this process allocate from glibc's one main arena (False where the
    C library has no `mallopt`). Call before the process starts threads.

    glibc gives each new thread an arena of its own, up to eight a core, and memory freed in an
    arena is kept for the threads that use it. On SQLite each database connection is a thread (aiosqlite), up to
    fifteen in a service's pool under load: their arenas held 10-14 MB of intake's resident
    memory at 60-75 cases/s, most of what SQLite's services had beyond PostgreSQL's. Their small
    allocations still come from each thread's own cache (tcache) without the arena's lock."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    return bool(mallopt(_M_ARENA_MAX, 1))


def serve(app: FastAPI, settings: ProcessSettings) -> None:
    """Migrate `app.state.schema` (if it has one), then serve `app` on the settings' host and
    port until SIGINT/SIGTERM."""
    configure_logging(settings.service, settings.log_level)
    one_malloc_arena()
    if not port_free(settings.host, settings.port):
        prefix = settings.model_config.get("env_prefix", "")
        print(
            f"jejaring-{settings.service}: port {settings.port} on {settings.host} is already "
            f"in use; set {prefix}PORT to another port.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    schema = getattr(app.state, "schema", None)
    if isinstance(schema, Schema):  # now, while there is no event loop to fork from inside
        try:
            schema.apply_in_child()
        except MigrationFailed as failed:
            log.error("cannot start: the database was not migrated", extra={"error": str(failed)})
            raise SystemExit(1) from None
    # Everything imported and built so far lives as long as the process: keep it out of the
    # collector's way (the cyclic GC would otherwise walk it again and again under load). A
    # service's __main__ turned the collector off while it imported; it is on from here. No
    # collection first: it took 90-200 ms of CPU per service at start to free about 900 objects.
    gc.freeze()
    gc.enable()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # The client's address from X-Forwarded-For only when the proxy in front sent it.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
