"""`jejaring health`, the one image's health check, against a real HTTP server on loopback:
healthy only when the named service's /readyz answers 200 on its own port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

JEJARING = str(Path(sys.executable).parent / "jejaring")


class Readyz(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def health(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JEJARING, "health", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_ready_service_is_healthy(server: ThreadingHTTPServer) -> None:
    port = str(server.server_address[1])
    assert health(JEJARING_SERVICE="referral", REFERRAL_PORT=port).returncode == 0
    assert health("web", WEB_PORT=port).returncode == 0
    assert health("report", REPORT_PORT=port).returncode == 0
    assert health("report", REPORT_PORT="1").returncode == 1  # its own port, nothing there


def test_a_service_that_is_not_ready_or_not_there_is_unhealthy(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(server.server_address[1])
    monkeypatch.setattr(Readyz, "status", 503)
    answer = health(JEJARING_SERVICE="notify", NOTIFY_PORT=port)
    assert answer.returncode == 1
    assert f"http://127.0.0.1:{port}/readyz is not ready" in answer.stderr
    # the service's own port, not another's: intake's port has nothing listening here
    assert health("intake", INTAKE_PORT="1").returncode == 1


def test_an_unknown_service_is_named() -> None:
    answer = health(JEJARING_SERVICE="mailpit")
    assert answer.returncode == 2
    assert "JEJARING_SERVICE must be one of intake, referral, notify, report, web" in answer.stderr
