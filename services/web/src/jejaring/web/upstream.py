"""The services behind the pages: intake, referral, notify and report over HTTP, with the person's own
access token. The web app keeps no case data; every page asks the service that owns it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from jejaring.shared.tracing import current_context
from jejaring.web.settings import WebSettings

log = logging.getLogger(__name__)

ServiceName = Literal["intake", "referral", "notify", "report"]


class Unreachable(Exception):
    """The service did not answer (connection refused or dropped, timeout) or answered 5xx:
    nothing can be known about what it did, so a form keeps its answers for another try."""


@dataclass(frozen=True)
class FieldError:
    """One error a service named: the field (dotted path of its JSON body) and the reason in
    both languages."""

    field: str
    code: str
    message: str
    message_en: str

    def text(self, lang: str) -> str:
        return self.message if lang == "id" else self.message_en


def field_errors(response: httpx.Response) -> list[FieldError]:
    """The `{"detail": [{"field", "code", "message", "message_en"}]}` of an error answer."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        return []
    if not isinstance(detail, list):
        return []
    errors = []
    for item in detail:
        if isinstance(item, dict):
            errors.append(
                FieldError(
                    str(item.get("field") or "request"),
                    str(item.get("code") or "error"),
                    str(item.get("message") or ""),
                    str(item.get("message_en") or item.get("message") or ""),
                )
            )
    return errors


class Upstream:
    """One HTTP client per service, shared by every request."""

    def __init__(
        self, settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        timeout = httpx.Timeout(
            settings.upstream_timeout_s, connect=min(5.0, settings.upstream_timeout_s)
        )
        bases = {
            "intake": settings.intake_url,
            "referral": settings.referral_url,
            "notify": settings.notify_url,
            "report": settings.report_url,
        }
        # One TLS context for the four: each client would load the CA bundle again (20 ms of
        # CPU apiece at start).
        tls = httpx.create_ssl_context()
        self.clients = {
            name: httpx.AsyncClient(base_url=base, timeout=timeout, transport=transport, verify=tls)
            for name, base in bases.items()
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self,
        service: ServiceName,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """The service's answer; Unreachable when there is none, or a 5xx one. The request
        carries the page's trace context (`traceparent`): the service continues its trace.
        `data` and `files`: a multipart/form-data body (an upload) instead of JSON."""
        sent = {**current_context(), **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = await self.clients[service].request(
                method, path, json=json, params=params, headers=sent, data=data, files=files
            )
        except httpx.HTTPError as exc:
            log.warning(
                "service unreachable",
                extra={"upstream": service, "path": path, "error": type(exc).__name__},
            )
            raise Unreachable(service) from None
        if response.status_code >= 500:
            log.warning(
                "service failed",
                extra={"upstream": service, "path": path, "status": response.status_code},
            )
            raise Unreachable(service)
        return response
