"""Run a service's ASGI app under uvicorn, with a clear line when its port is taken."""

from __future__ import annotations

import errno
import socket
import sys

import uvicorn
from fastapi import FastAPI

from jejaring.shared.logs import configure_logging
from jejaring.shared.settings import ServiceSettings


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def serve(app: FastAPI, settings: ServiceSettings) -> None:
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
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
