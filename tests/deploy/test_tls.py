"""NATS over TLS on a real nats-server, with certificates from `jejaring tls`.

The client port runs the committed deploy/nats/tls.conf (paths rewritten for this machine):
a plaintext client is refused, a client trusting the site's CA publishes and consumes through
JetStream, a client that does not trust it is refused, and our client never falls back to
plaintext when a server does not speak TLS. A service (notify) connects over mutual TLS and
provisions its streams. Every `*_public_url` setting of every service follows the https rule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from fastapi.testclient import TestClient
from nats.js.api import StreamConfig
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from jejaring.cli.tls import SiteCerts, make_site_certs
from jejaring.intake.settings import IntakeSettings
from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.referral.settings import ReferralSettings
from jejaring.report.settings import ReportSettings
from jejaring.shared.messaging.connection import client_tls, connect
from jejaring.shared.messaging.natsserver import NatsServer, ServerTls
from jejaring.testing import CLOCKS_APART, until
from jejaring.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
TLS_CONF = ROOT / "deploy" / "nats" / "tls.conf"
SERVER_PATHS = "/etc/nats/tls/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteCerts:
    return make_site_certs(
        tmp_path_factory.mktemp("site") / "tls",
        ["127.0.0.1", "localhost"],
        route_hosts=["127.0.0.1"],
        clients=["svc-notify"],
        backdate=CLOCKS_APART,
    )


@pytest.fixture(scope="module")
def other_site(tmp_path_factory: pytest.TempPathFactory) -> SiteCerts:
    """Another CA, for the same names: what an impostor could make."""
    return make_site_certs(
        tmp_path_factory.mktemp("other") / "tls", ["127.0.0.1", "localhost"], backdate=CLOCKS_APART
    )


@pytest.fixture
def tls_server(tmp_path: Path, site: SiteCerts) -> Iterator[NatsServer]:
    """A nats-server whose client port runs the committed tls.conf."""
    text = TLS_CONF.read_text()
    assert text.count(SERVER_PATHS) == 3
    (tmp_path / "tls.conf").write_text(text.replace(SERVER_PATHS, f"{site.folder}/"))
    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log")
    server.write_config(extra='include "tls.conf"\n')
    server.start()
    try:
        yield server
    finally:
        server.stop()


def plain_url(server: NatsServer) -> str:
    return f"nats://{server.host}:{server.port}"


async def attempt(url: str, **options: object) -> Exception | None:
    """Try our `connect` (which retries for ever) for 4 s: None if it connected, else the last
    error the client reported."""
    errors: list[Exception] = []
    handler = logging.Handler()
    handler.emit = lambda record: errors.append(  # type: ignore[method-assign]
        RuntimeError(getattr(record, "error", "?") + ": " + getattr(record, "detail", ""))
    )
    logger = logging.getLogger("jejaring.shared.messaging.connection")
    logger.addHandler(handler)
    try:
        nc = await asyncio.wait_for(connect(url, name="tls-test", **options), 4)  # type: ignore[arg-type]
    except TimeoutError:
        return errors[-1] if errors else TimeoutError("no error reported")
    finally:
        logger.removeHandler(handler)
    await nc.close()
    return None


def test_a_plaintext_client_is_refused(tls_server: NatsServer) -> None:
    with socket.create_connection((tls_server.host, tls_server.port), timeout=5) as sock:
        sock.settimeout(5)
        info = sock.recv(4096)  # sent after the 300 ms a TLS-first client has to start
        assert info.startswith(b"INFO ") and b'"tls_required":true' in info
        sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        answer = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break  # closed by the server
            answer += chunk
    assert b"PONG" not in answer, answer
    assert time.monotonic() < deadline, "the server kept the plaintext connection open"


async def test_a_client_trusting_the_ca_uses_jetstream(
    tls_server: NatsServer, site: SiteCerts
) -> None:
    assert tls_server.url == plain_url(tls_server)  # plain NatsServer url: TLS from the include
    nc = await connect(
        f"tls://127.0.0.1:{tls_server.port}", name="tls-test", tls=client_tls(site.files["ca"])
    )
    try:
        assert nc.connected_url is not None and nc.client_id is not None
        js = nc.jetstream(timeout=5)
        await js.add_stream(StreamConfig(name="T_TLS", subjects=["t.tls.>"]))
        ack = await js.publish("t.tls.one", b"over tls")
        assert (ack.stream, ack.seq) == ("T_TLS", 1)
        sub = await js.pull_subscribe("t.tls.>", durable="reader", stream="T_TLS")
        (msg,) = await sub.fetch(1, timeout=5)
        assert msg.data == b"over tls"
        await msg.ack()
    finally:
        await nc.close()


async def test_a_client_that_does_not_trust_the_ca_is_refused(
    tls_server: NatsServer, other_site: SiteCerts
) -> None:
    for options in ({}, {"tls": client_tls(other_site.files["ca"])}):  # system CAs; another CA
        error = await attempt(f"tls://127.0.0.1:{tls_server.port}", **options)
        assert error is not None and "SSLCertVerificationError" in str(error), error


async def test_a_wrong_name_is_refused(tls_server: NatsServer, site: SiteCerts) -> None:
    error = await attempt(
        f"tls://127.0.0.1:{tls_server.port}",
        tls=client_tls(site.files["ca"]),
        tls_hostname="nats.elsewhere.example",
    )
    assert error is not None and "SSLCertVerificationError" in str(error), error


async def test_our_client_never_falls_back_to_plaintext(tmp_path: Path, site: SiteCerts) -> None:
    """A server (or anyone in between) that does not speak TLS gets no CONNECT, so no
    password: the client starts with the TLS handshake."""
    plain = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "plain.log")
    plain.write_config(
        extra='authorization { users = [ { user: "svc", password: "svc-password-0001" } ] }\n'
    )
    plain.start()
    try:
        error = await attempt(
            plain.url,
            tls=client_tls(site.files["ca"]),
            user="svc",
            password="svc-password-0001",
        )
        # The server's plaintext INFO is not a TLS record: the handshake fails at once.
        assert error is not None and "WRONG_VERSION_NUMBER" in str(error), error
        # Control: the same credentials without TLS do connect, so the refusal above is TLS's.
        assert await attempt(plain.url, user="svc", password="svc-password-0001") is None
    finally:
        plain.stop()
    log = (tmp_path / "plain.log").read_text()
    assert "Authorization Violation" not in log


def test_a_service_connects_over_mutual_tls(
    tmp_path: Path, site: SiteCerts, database_url: str
) -> None:
    files = site.files
    server = NatsServer(
        store_dir=tmp_path / "js",
        log_file=tmp_path / "nats.log",
        tls=ServerTls(files["nats"], files["nats-key"], files["ca"], verify=True),
    )
    server.start()
    try:
        assert server.url.startswith("tls://")
        settings = NotifySettings(
            database_url=database_url,
            data_dir=tmp_path,
            nats_url=server.url,
            nats_tls_ca_file=files["ca"],
            nats_tls_cert_file=files["svc-notify"],
            nats_tls_key_file=files["svc-notify-key"],
        )
        with TestClient(create_app(settings)) as client:
            ready = until(lambda: (r := client.get("/readyz")).status_code == 200 and r.json())
            assert ready["checks"]["nats"] == ready["checks"]["streams"] == "ok"
            # Its streams exist on the server: provisioned over the TLS connection.
            jsz = json.loads(urlopen(f"http://127.0.0.1:{server.monitor_port}/jsz").read())
            assert jsz["streams"] >= 1
    finally:
        server.stop()
    assert "TLS handshake error" not in (tmp_path / "nats.log").read_text()


async def test_mutual_tls_refuses_a_client_without_a_certificate(
    tmp_path: Path, site: SiteCerts
) -> None:
    files = site.files
    server = NatsServer(
        store_dir=tmp_path / "js",
        log_file=tmp_path / "nats.log",
        tls=ServerTls(files["nats"], files["nats-key"], files["ca"], verify=True),
    )
    server.start()
    try:
        error = await attempt(server.url, tls=client_tls(files["ca"]))
        assert error is not None and "CERTIFICATE_REQUIRED" in str(error), error
        connected = await attempt(
            server.url,
            tls=client_tls(files["ca"], files["svc-notify"], files["svc-notify-key"]),
        )
        assert connected is None
    finally:
        server.stop()


SETTINGS: list[type[BaseSettings]] = [
    IntakeSettings,
    ReferralSettings,
    NotifySettings,
    ReportSettings,
    WebSettings,
]
PUBLIC_URLS = [
    (cls, name) for cls in SETTINGS for name in cls.model_fields if name.endswith("public_url")
]


def test_the_public_urls_are_the_known_ones() -> None:
    found = {f"{cls.model_config['env_prefix']}{name}".upper() for cls, name in PUBLIC_URLS}
    assert found == {
        "NOTIFY_PUBLIC_URL",
        "NOTIFY_INTAKE_PUBLIC_URL",
        "NOTIFY_REFERRAL_PUBLIC_URL",
        "WEB_PUBLIC_URL",
    }


NOTIFY_REAL_CHANNELS = {
    "sms_channel": "gateway",
    "sms_gateway_url": "https://sms.example.org/send",
    "email_channel": "smtp",
    "smtp_host": "mail.example.org",
}


@pytest.mark.parametrize(("cls", "name"), PUBLIC_URLS)
def test_every_public_url_needs_https_in_production(
    tmp_path: Path, cls: type[BaseSettings], name: str
) -> None:
    env = f"{cls.model_config['env_prefix']}{name}".upper()
    with pytest.raises(ValidationError, match=f"{env}: http://jejaring.example.org is plaintext"):
        cls(data_dir=tmp_path, environment="production", **{name: "http://jejaring.example.org"})
    # notify's production channels must reach people (notify/settings.py): real ones here
    channels = NOTIFY_REAL_CHANNELS if cls is NotifySettings else {}
    ok = cls(
        data_dir=tmp_path,
        environment="production",
        **{name: "https://jejaring.example.org", **channels},
    )
    assert getattr(ok, name) == "https://jejaring.example.org"


@pytest.mark.parametrize("cls", [IntakeSettings, ReferralSettings, NotifySettings, ReportSettings])
def test_every_service_refuses_plaintext_nats_off_loopback(
    tmp_path: Path, cls: type[BaseSettings]
) -> None:
    env = f"{cls.model_config['env_prefix']}NATS_URL"
    with pytest.raises(ValidationError, match=f"{env}: nats://nats:4222 is plaintext"):
        cls(data_dir=tmp_path, environment="production", nats_url="nats://nats:4222")
