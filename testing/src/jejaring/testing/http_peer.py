"""A real HTTP server on 127.0.0.1, in a thread, standing in for a provider (an SMS gateway,
WhatsApp's Cloud API): it records every POST as it arrived and answers what the test scripts.
It also calls out as a provider does (`call`): an SMS gateway posting an inbound message."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from jejaring.shared.messaging.natsserver import free_port


@dataclass(frozen=True)
class Received:
    """One request as the server read it off the wire."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """The form-encoded fields, strictly parsed (a malformed body fails the test)."""
        return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True)


# What the server answers a request: the status and a JSON body.
Answer = Callable[[Received], tuple[int, Any]]


@dataclass
class HttpPeer:
    """Start it with `with HttpPeer(answer) as peer:`; `peer.url` is its address. Each answer
    can be delayed by `delay_s` (a provider that times out)."""

    answer: Answer
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    delay_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(
        self, url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST `body` as JSON to `url`, as the provider calls a service back (an SMS gateway
        posting a message that came in): the status and the JSON answer."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP address: {url}")
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")

    def __enter__(self) -> HttpPeer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                peer.received.append(request)
                time.sleep(peer.delay_s)
                status, body = peer.answer(request)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class SmsGateway:
    """An SMS provider that takes every message (`sent`: their JSON bodies) and answers each
    with a message id; `with HttpPeer(gateway.answer) as peer:` puts it on the wire."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, Any]:
        self.sent.append(request.json())
        return 200, {"message_id": f"sms-{len(self.sent)}"}
