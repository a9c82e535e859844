"""Distributed tracing: W3C trace context across HTTP and events, OpenTelemetry spans.

Propagation always runs: an HTTP request continues the caller's `traceparent` (or starts a
trace), an event carries the context it was created in as the CloudEvents Distributed Tracing
extension (`ce-traceparent`, `ce-tracestate`: envelope.py), a consumer continues it, and what
it emits in turn carries its own span's context. A traceparent holds random ids and flags only,
never personal data, so partners see it on their streams.

Spans are exported (OTLP/HTTP protobuf) only when OTEL_EXPORTER_OTLP_ENDPOINT is set: only
then is OpenTelemetry's SDK loaded (about 1 MB of a service's memory). Without it no span is
recorded, but each still gets an id of its own under its parent's trace, with the caller's
sampling flag, so what a service sends on continues the caller's trace for whoever exports.
Span names and attributes hold event types, subjects, durables, ids and case references, never
names or free text: an exception is recorded by its type alone (its message may repeat input).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import Event
from jejaring.shared.logs import correlated

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# Probes answer many times a minute: no trace of their own.
_UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

_propagator = TraceContextTextMapPropagator()


def current_context() -> dict[str, str]:
    """The current span's W3C context: {'traceparent': …, 'tracestate': …} (empty outside any
    span; tracestate only when the trace has one)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def context_from(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    """The context a W3C traceparent continues (an invalid or absent one starts a new trace)."""
    carrier = {TRACEPARENT: traceparent or "", TRACESTATE: tracestate or ""}
    return _propagator.extract(carrier)


def mark_failed(error_type: str) -> None:
    """Mark the current span failed, by a type name (never a message: it may repeat input)."""
    span = trace.get_current_span()
    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))


def case_reference_of(event: Event) -> str | None:
    """The case reference an event carries, if any (case events: `reference`, referral events:
    `case_reference`; a partner's reply has none)."""
    reference = getattr(event, "case_reference", None) or getattr(event, "reference", None)
    return reference if isinstance(reference, str) else None


class _ChainingTracer(trace.NoOpTracer):
    """What a service traces with when it exports nothing. No span is recorded; each gets a
    random id of its own under its parent's trace id, sampling flag and trace state (a new
    unsampled trace without a parent), as the SDK's unrecorded spans did. The API's no-op
    tracer would reuse the parent's span id instead."""

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Any = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
        else:
            trace_id, flags, state = _random_id(128), trace.TraceFlags(0), trace.TraceState()
        own = trace.SpanContext(
            trace_id, _random_id(64), is_remote=False, trace_flags=flags, trace_state=state
        )
        return trace.NonRecordingSpan(own)


def _random_id(bits: int) -> int:
    """A W3C trace or span id: random, never all zeros (the invalid id)."""
    while not (n := random.getrandbits(bits)):
        pass
    return n


@dataclass
class Tracing:
    """One service's tracer: exporting through the SDK when an OTLP endpoint is given,
    otherwise recording nothing."""

    tracer: trace.Tracer
    provider: TracerProvider | None = None  # the SDK's, when spans are recorded

    @property
    def exporting(self) -> bool:
        return self.provider is not None

    @classmethod
    def for_service(cls, service: str, *, endpoint: str | None = None) -> Tracing:
        """`endpoint` is OTEL_EXPORTER_OTLP_ENDPOINT's value; the exporter reads the other
        standard OTEL_EXPORTER_OTLP_* variables (headers, timeout, a traces endpoint)."""
        if not endpoint:
            return cls(_ChainingTracer())
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
            endpoint.rstrip("/") + "/v1/traces"
        )
        return cls.recording(service, BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))

    @classmethod
    def recording(cls, service: str, processor: SpanProcessor) -> Tracing:
        """Spans recorded by the SDK and handed to `processor` (an exporter's, or a test's).
        OTEL_TRACES_SAMPLER applies (by default: the caller's decision, and every trace this
        service starts)."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        resource = Resource.create(
            {"service.name": f"jejaring-{service}", "service.namespace": "jejaring"}
        )
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(processor)
        return cls(provider.get_tracer("jejaring"), provider)  # once: a new one costs ~50 us

    def shutdown(self) -> None:
        """Export what is buffered and stop the exporter's thread."""
        if self.provider is not None:
            self.provider.shutdown()

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        parent: otel_context.Context | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[trace.Span]:
        """A current span; an exception marks it failed with the exception's type only."""
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=dict(attributes or {}),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                mark_failed(type(exc).__name__)
                raise

    @contextlib.contextmanager
    def consuming(self, envelope: Envelope, *, durable: str) -> Iterator[None]:
        """The span and log correlation of one event's handling, continuing its producer's
        trace: the event's id and case reference on every log line within."""
        reference = case_reference_of(envelope.data)
        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": envelope.nats_subject or "",
            "messaging.consumer.group.name": durable,
            "messaging.message.id": envelope.id,
            "cloudevents.event_id": envelope.id,
            "cloudevents.event_type": envelope.type,
            "cloudevents.event_subject": envelope.subject or "",
        }
        if reference:
            attributes["jejaring.case.reference"] = reference
        parent = context_from(envelope.traceparent, envelope.tracestate)
        with (
            correlated(case_reference=reference, event_id=envelope.id),
            self.span(
                f"process {envelope.type}",
                kind=SpanKind.CONSUMER,
                parent=parent,
                attributes=attributes,
            ),
        ):
            yield

    @contextlib.contextmanager
    def continuing(
        self,
        name: str,
        *,
        traceparent: str | None,
        case_reference: str | None,
        event_id: str | None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[None]:
        """Later work an event caused (a delivery sent after the event was handled): a span
        in the event's trace, and its ids on every log line within."""
        extra = {"cloudevents.event_id": event_id} if event_id else {}
        if case_reference:
            extra["jejaring.case.reference"] = case_reference
        with (
            correlated(case_reference=case_reference, event_id=event_id),
            self.span(
                name, parent=context_from(traceparent), attributes={**extra, **(attributes or {})}
            ),
        ):
            yield


class TracingMiddleware:
    """An HTTP server span per request (named by method and route template, no query, no
    client address), continuing an incoming `traceparent`; each request its own correlation
    scope (a handler binds the case it works on: `logs.bind_case`)."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in (b"traceparent", b"tracestate")
        }
        method = scope["method"]
        status = [0]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        with (
            correlated(),
            self.tracing.span(
                method,
                kind=SpanKind.SERVER,
                parent=_propagator.extract(headers),
                attributes={"http.request.method": method},
            ) as span,
        ):
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:  # the template (/api/v1/cases/{case_id}): ids stay out of the name
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status[0]:
                    span.set_attribute("http.response.status_code", status[0])
                    if status[0] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
