"""Prometheus metrics: `/metrics` on every service (docs/decisions.md, "Metrics").

Work done (HTTP requests, events published, consumed, redelivered, dead-lettered) is counted as
it happens, in this process's default registry. State (outbox backlog, consumer pending, a
service's own counts such as referrals by status) is read when Prometheus scrapes, by the async
`Scrape` functions a service hands to `install`: nothing polls between scrapes.

Labels are closed sets only: method, route template (never the path, which may hold a case
reference or a token), status code, a contract event type, a consumer's durable name, a
channel, a status. Never a reference, an address, a name or free text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jejaring.shared.contract.events import BY_CE_TYPE

log = logging.getLogger(__name__)

Scrape = Callable[[], Awaitable[Iterable[Metric]]]

# No `_created` series beside each counter and histogram: Prometheus does not need them in the
# text format, and they would double what it stores.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_SECONDS = Histogram(
    "jejaring_http_request_duration_seconds",
    "HTTP requests by method, route template and status code, and how long they took.",
    ["method", "route", "status"],
)
EVENTS_PUBLISHED = Counter(
    "jejaring_events_published",
    "Events the outbox relay published (PubAck received), by CloudEvent type.",
    ["type"],
)
EVENTS_CONSUMED = Counter(
    "jejaring_events_consumed",
    "Events acked after handling, by consumer and type; outcome `duplicate` when the inbox "
    "had already seen the id (nothing was done twice).",
    ["consumer", "type", "outcome"],
)
CONSUMER_BATCHES = Counter(
    "jejaring_consumer_batches",
    "Fetches a consumer handled, by consumer: its events consumed divided by this is how many "
    "share a fetch and a transaction (more when it is behind).",
    ["consumer"],
)
OUTBOX_BATCHES = Counter(
    "jejaring_outbox_batches",
    "Batches of outbox rows the relay published: its events published divided by this is how "
    "many share a claim and a mark.",
)
EVENTS_REDELIVERED = Counter(
    "jejaring_events_redelivered",
    "Events received again (a retry or an ack-wait that ran out), by consumer and type.",
    ["consumer", "type"],
)
EVENTS_DEAD_LETTERED = Counter(
    "jejaring_events_dead_lettered",
    "Messages published to the DLQ, by consumer and type (`other`: not a contract type).",
    ["consumer", "type"],
)
EVENTS_UNKNOWN_TYPE = Counter(
    "jejaring_events_unknown_type",
    "Well-formed events of a type this version does not know, acked unhandled, by consumer.",
    ["consumer"],
)


def event_type(ce_type: str | None) -> str:
    """A label for an event type: a contract type, or `other` (outsiders write some streams,
    and a label must never carry what they wrote)."""
    return ce_type if ce_type in BY_CE_TYPE else "other"


def gauge(
    name: str, doc: str, values: Mapping[tuple[str, ...], float], labels: Sequence[str] = ()
) -> GaugeMetricFamily:
    """A gauge family read at scrape: one sample per label values (one without labels)."""
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def render(scrapes: Sequence[Scrape]) -> bytes:
    """The exposition text: the process's counters, then what each scrape reads now. A scrape
    that fails (its database away) leaves its families out and is logged."""
    families: list[Metric] = []
    for scrape in scrapes:
        try:
            families.extend(await asyncio.wait_for(scrape(), timeout=5))
        except Exception as exc:
            log.warning("metrics scrape failed", extra={"error": type(exc).__name__})
    now = CollectorRegistry(auto_describe=False)
    now.register(_Families(families))
    return generate_latest(REGISTRY) + generate_latest(now)


class HttpMetrics:
    """ASGI middleware timing each HTTP request, labelled by its route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception that escapes is a 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            HTTP_SECONDS.labels(scope["method"], route_template(scope), str(status)).observe(
                time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/cases/{reference}`), or `other` (no route
    matched, or a mount such as static files): never the path itself."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "other"


def install(app: FastAPI, scrapes: Sequence[Scrape] = ()) -> None:
    """Time `app`'s requests and serve `/metrics` (not in the OpenAPI document)."""

    async def metrics() -> Response:
        # The classic text format: every Prometheus (2.x and 3.x) reads it; the names are all
        # legacy-valid, so 1.0.0's UTF-8 names would add nothing.
        return Response(await render(scrapes), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(HttpMetrics)
