"""Run a service's ASGI app under uvicorn, with a clear line when its port is taken."""

from __future__ import annotations

import gc
import sys

import uvicorn
from fastapi import FastAPI

from jejaring.shared.logs import configure_logging
from jejaring.shared.messaging.natsserver import port_free
from jejaring.shared.settings import ProcessSettings


def serve(app: FastAPI, settings: ProcessSettings) -> None:
    """Serve `app` on the settings' host and port until SIGINT/SIGTERM."""
    configure_logging(settings.service, settings.log_level)
    if not port_free(settings.host, settings.port):
        prefix = settings.model_config.get("env_prefix", "")
        print(
            f"jejaring-{settings.service}: port {settings.port} on {settings.host} is already "
            f"in use; set {prefix}PORT to another port.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    # Everything imported and built so far lives as long as the process: keep it out of the
    # collector's way (a full collection over it costs about 100 ms of CPU here; the cyclic GC
    # otherwise walks it again and again under load).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
