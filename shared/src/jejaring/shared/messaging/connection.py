"""NATS connections that never give up: an outage pauses work, it does not end the process."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

log = logging.getLogger(__name__)


def client_tls(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A client TLS context: trusts `ca_file` (the system's CAs without it), verifies the
    server's name, and presents `cert_file`/`key_file` where the server demands mutual TLS."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


async def connect(
    url: str,
    *,
    name: str,
    user: str | None = None,
    password: str | None = None,
    tls: ssl.SSLContext | None = None,
    tls_hostname: str | None = None,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
) -> NATS:
    """Connect to NATS, retrying the first connection and every reconnection forever.

    With `tls` (or a `tls://` URL) the client starts with the TLS handshake, before the server's
    first word: a server (or anyone in between) that does not speak TLS cannot have it send
    its password in plaintext. The server needs `handshake_first` in its `tls` block.
    """
    servers = [s.strip() for s in url.split(",") if s.strip()]
    if tls is None and any(s.startswith("tls://") for s in servers):
        tls = client_tls(None)

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", extra={"error": type(exc).__name__, "detail": str(exc)[:200]})

    async def on_disconnected() -> None:
        log.warning("nats disconnected")

    async def reconnected() -> None:
        log.info("nats reconnected")
        if on_reconnected is not None:
            await on_reconnected()

    return await nats.connect(
        servers=servers,
        name=name,
        user=user,
        password=password,
        tls=tls,
        tls_hostname=tls_hostname,
        tls_handshake_first=tls is not None,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        # A stopped (SIGSTOP) server is noticed within ~10 s and the connection re-made.
        ping_interval=5,
        max_outstanding_pings=2,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=reconnected,
        # Publishes during an outage wait in the client buffer up to this size.
        pending_size=8 * 1024 * 1024,
    )
