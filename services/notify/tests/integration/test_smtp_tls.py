"""Email over TLS for real: aiosmtpd servers with certificates from `jejaring tls`.

STARTTLS (the default) and implicit TLS deliver with the server's certificate verified against
NOTIFY_SMTP_CA_FILE; a server that offers no STARTTLS, or whose certificate comes from another
CA, receives nothing, and the delivery log says why.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from jejaring.cli.tls import SiteCerts, make_site_certs
from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import envelope
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus
from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import sample_events, until

ADMIN = "admin-token-for-tests-0123456789"
PARTNER = ev.Contact(
    name="Posbakum",
    phone="+62 811 0000 301",
    email="posbakum@example.org",
    preferred_channel="email",
)


class Mailbox:
    """Records each message and whether its session was encrypted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        encrypted = session.ssl is not None or server.transport.get_extra_info("sslcontext")
        self.messages.append((list(envelope.rcpt_tos), bool(encrypted)))
        return "250 OK"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteCerts:
    return make_site_certs(tmp_path_factory.mktemp("site") / "tls", ["127.0.0.1", "localhost"])


@pytest.fixture(scope="module")
def other_site(tmp_path_factory: pytest.TempPathFactory) -> SiteCerts:
    return make_site_certs(tmp_path_factory.mktemp("other") / "tls", ["127.0.0.1", "localhost"])


def server_context(certs: SiteCerts) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.files["nats"], certs.files["nats-key"])  # names 127.0.0.1
    return context


Start = Callable[..., tuple[Mailbox, int]]


@pytest.fixture
def smtp_server() -> Iterator[Start]:
    """Starts aiosmtpd servers: `start(**controller_options)` returns (mailbox, port)."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[Mailbox, int]:
        box, port = Mailbox(), free_port()
        controller = Controller(box, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return box, port

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


def alert_through(
    port: int, nats_url: str, database_url: str, tmp_path: Path, **smtp: Any
) -> Callable[[], list[dict[str, Any]]]:
    """Run notify against the SMTP server on `port`, publish one referral for an email
    partner, and return a function reading the email deliveries from the delivery log."""
    settings = NotifySettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        email_channel="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        max_attempts=2,
        retry_base_s=0.05,
        dispatch_interval_s=0.05,
        **smtp,
    )
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    event = base.model_copy(
        update={
            "partner_contacts": (PARTNER,),
            "status": ReferralStatus.REQUESTED,
            "priority": Priority.ROUTINE,  # urgent ones go by SMS
        }
    )
    message = envelope.encode(event, source="/jejaring/referral")

    async def publish() -> None:
        nc = await nats.connect(nats_url)
        await nc.jetstream().publish(message.subject, message.body, headers=message.headers)
        await nc.close()

    client = TestClient(create_app(settings))
    client.__enter__()
    until(lambda: client.get("/readyz").status_code == 200)
    asyncio.run(publish())

    def deliveries() -> list[dict[str, Any]]:
        r = client.get("/api/v1/deliveries", headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200, r.text
        return [d for d in r.json() if d["channel"] == "email"]

    deliveries.client = client  # type: ignore[attr-defined]
    return deliveries


@pytest.fixture
def run_notify(
    nats_url: str, database_url: str, tmp_path: Path
) -> Iterator[Callable[..., Callable[[], list[dict[str, Any]]]]]:
    started: list[TestClient] = []

    def run(port: int, **smtp: Any) -> Callable[[], list[dict[str, Any]]]:
        deliveries = alert_through(port, nats_url, database_url, tmp_path, **smtp)
        started.append(deliveries.client)  # type: ignore[attr-defined]
        return deliveries

    try:
        yield run
    finally:
        for client in started:
            client.__exit__(None, None, None)


def test_an_alert_is_delivered_over_starttls(
    smtp_server: Start, run_notify: Any, site: SiteCerts
) -> None:
    box, port = smtp_server(tls_context=server_context(site), require_starttls=True)
    deliveries = run_notify(port, smtp_ca_file=site.files["ca"])  # security: starttls, default
    until(lambda: box.messages)
    assert box.messages == [(["posbakum@example.org"], True)]
    (sent,) = until(lambda: [d for d in deliveries() if d["status"] == "sent"])
    assert sent["attempts"] == 1


def test_an_alert_is_delivered_over_implicit_tls(
    smtp_server: Start, run_notify: Any, site: SiteCerts
) -> None:
    box, port = smtp_server(ssl_context=server_context(site))
    deliveries = run_notify(port, smtp_security="tls", smtp_ca_file=site.files["ca"])
    until(lambda: box.messages)
    assert box.messages == [(["posbakum@example.org"], True)]
    until(lambda: [d for d in deliveries() if d["status"] == "sent"])


def test_a_server_without_starttls_gets_nothing_and_the_log_says_why(
    smtp_server: Start, run_notify: Any, site: SiteCerts
) -> None:
    box, port = smtp_server()  # plaintext only: no STARTTLS offered
    deliveries = run_notify(port, smtp_ca_file=site.files["ca"])
    (failed,) = until(lambda: [d for d in deliveries() if d["status"] == "failed"])
    assert failed["attempts"] == 2
    assert failed["last_error"] == "SMTP server offers no STARTTLS; not sent in plaintext"
    assert box.messages == []  # test_delivery.py: with security none it takes mail


def test_a_certificate_from_another_ca_gets_nothing(
    smtp_server: Start, run_notify: Any, site: SiteCerts, other_site: SiteCerts
) -> None:
    box, port = smtp_server(tls_context=server_context(other_site), require_starttls=True)
    deliveries = run_notify(port, smtp_ca_file=site.files["ca"])
    (failed,) = until(lambda: [d for d in deliveries() if d["status"] == "failed"])
    assert failed["last_error"] == "SMTP TLS failed: CERTIFICATE_VERIFY_FAILED"
    assert box.messages == []
