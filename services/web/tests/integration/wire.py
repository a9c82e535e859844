"""What the web app sends the services in the integration tests: httpx's real transport,
with a note of every request and its answer (nothing is changed or answered by the tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Sent:
    """One request the web app sent, and intake's status (None: no answer)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int | None = None
    answer_headers: dict[str, str] = field(default_factory=dict)


class Wire(httpx.AsyncBaseTransport):
    """httpx's real transport, noting every request that goes through it and its answer."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.log: list[Sent] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = Sent(
            request.method,
            request.url.path,
            dict(request.headers),
            json.loads(request.content) if request.content else None,
        )
        self.log.append(sent)
        response = await self.real.handle_async_request(request)
        sent.status = response.status_code
        sent.answer_headers = dict(response.headers)
        return response

    async def aclose(self) -> None:
        await self.real.aclose()

    def sent(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.log if (s.method, s.path) == (method, path)]
