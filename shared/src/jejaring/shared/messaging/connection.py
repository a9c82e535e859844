"""NATS connections that never give up: an outage pauses work, it does not end the process."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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


def transport(
    url: str, tls: ssl.SSLContext | None = None, tls_hostname: str | None = None
) -> dict[str, Any]:
    """`nats.connect`'s server and TLS arguments for `url` (comma-separated servers): with `tls`
    (or a `tls://` URL, then trusting the system's CAs) the client starts with the TLS
    handshake, before the server's first word, so a server (or anyone in between) that does not
    speak TLS cannot have it send its credentials in plaintext. The server needs
    `handshake_first` in its `tls` block (deploy/nats/tls.conf)."""
    servers = [s.strip() for s in url.split(",") if s.strip()]
    if tls is None and any(s.startswith("tls://") for s in servers):
        tls = client_tls(None)
    return {
        "servers": servers,
        "tls": tls,
        "tls_hostname": tls_hostname,
        "tls_handshake_first": tls is not None,
    }


def inbox_prefix(name: str) -> str:
    """The only inbox a service (or a partner, by slug) may receive on: `_INBOX_<name>`; with a
    shared `_INBOX.>` one identity could read another's fetched messages."""
    return f"_INBOX_{name}"


async def connect(
    url: str,
    *,
    name: str,
    user: str | None = None,
    password: str | None = None,
    tls: ssl.SSLContext | None = None,
    tls_hostname: str | None = None,
    inbox_prefix: str = "_INBOX",
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
    on_refused: Callable[[str], None] | None = None,
) -> NATS:
    """Connect to NATS, retrying the first connection and every reconnection forever.

    With `tls` (or a `tls://` URL) the client starts with the TLS handshake (`transport`).

    Replies (PubAcks, fetched messages) come to `inbox_prefix`, the only inbox the server
    lets this identity subscribe to; `on_refused` hears of each permissions violation.
    """
    refusals_seen: set[str] = set()

    async def on_error(exc: Exception) -> None:
        detail = str(exc)[:200]
        refused = "permissions violation" in detail.lower()
        if not refused or detail not in refusals_seen:  # a refusal retried is said once
            log.warning("nats error", extra={"error": type(exc).__name__, "detail": detail})
        if refused:
            refusals_seen.add(detail)
            if on_refused is not None:
                on_refused(str(exc))

    async def on_disconnected() -> None:
        log.warning("nats disconnected")

    async def reconnected() -> None:
        log.info("nats reconnected")
        if on_reconnected is not None:
            await on_reconnected()

    return await nats.connect(
        **transport(url, tls, tls_hostname),
        name=name,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix,
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
