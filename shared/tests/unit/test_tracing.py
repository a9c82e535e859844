"""Trace context on the wire, correlation ids in the logs, spans that keep no input."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

from jejaring.shared.contract import envelope
from jejaring.shared.contract.events import Victim
from jejaring.shared.logs import JsonFormatter, bind_case, correlated
from jejaring.shared.settings import ServiceSettings
from jejaring.shared.tracing import Tracing, TracingMiddleware, context_from, current_context
from jejaring.testing import CHILD_NAME, sample_events

CASE = sample_events()[0]
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def line(message: str = "handled") -> dict[str, str]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    parsed: dict[str, str] = json.loads(JsonFormatter("test").format(record))
    return parsed


def test_an_event_carries_the_context_it_was_created_in_as_the_tracing_extension() -> None:
    tracing = Tracing.for_service("test")
    with tracing.span("work", parent=context_from(PARENT, "vendor=opaque")) as span:
        message = envelope.encode(CASE, source="/jejaring/test", trace=current_context())
    own = span.get_span_context()
    assert message.headers["ce-traceparent"] == (
        f"00-0af7651916cd43dd8448eb211c80319c-{own.span_id:016x}-01"
    )
    assert message.headers["ce-tracestate"] == "vendor=opaque"
    parsed = envelope.decode(message.headers, message.body)
    assert (parsed.traceparent, parsed.tracestate) == (
        message.headers["ce-traceparent"],
        "vendor=opaque",
    )


def test_outside_any_trace_an_event_has_no_trace_headers() -> None:
    message = envelope.encode(CASE, source="/jejaring/test", trace=current_context())
    assert not {"ce-traceparent", "ce-tracestate"} & set(message.headers)
    assert envelope.decode(message.headers, message.body).traceparent is None


def test_a_plain_traceparent_header_is_read_when_the_extension_is_absent() -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    parsed = envelope.decode({**message.headers, "traceparent": PARENT}, message.body)
    assert parsed.traceparent == PARENT


def test_a_malformed_traceparent_starts_a_new_trace_instead_of_failing() -> None:
    tracing = Tracing.for_service("test")
    with tracing.span("work", parent=context_from("00-not-a-trace-01")) as span:
        context = span.get_span_context()
    assert context.is_valid and f"{context.trace_id:032x}" != "0af7651916cd43dd8448eb211c80319c"


def test_log_lines_carry_the_case_reference_event_id_and_trace_within_their_scope() -> None:
    tracing = Tracing.for_service("test")
    with (
        tracing.span("work", parent=context_from(PARENT)),
        correlated(event_id="e-1"),
    ):
        bind_case("BPT-2026-000042")
        inside = line()
    assert inside["case_reference"] == "BPT-2026-000042"
    assert inside["event_id"] == "e-1"
    assert inside["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    outside = line()
    assert not {"case_reference", "event_id", "trace_id"} & set(outside)


def test_a_failed_span_keeps_the_exception_type_never_its_message() -> None:
    exported = InMemorySpanExporter()
    tracing = Tracing.recording("test", SimpleSpanProcessor(exported))
    with (
        pytest.raises(ValidationError),
        tracing.span("work", parent=context_from(PARENT)),
    ):
        Victim.model_validate({"name": CHILD_NAME, "sex": CHILD_NAME, "age_group": "adult"})
    (span,) = exported.get_finished_spans()
    assert span.status.description == "ValidationError"
    assert span.attributes == {"error.type": "ValidationError"}
    assert not span.events  # no exception event with its message
    assert CHILD_NAME not in span.to_json()


def test_without_an_endpoint_nothing_is_recorded_and_the_ids_still_chain() -> None:
    tracing = Tracing.for_service("test")
    assert not tracing.exporting
    with tracing.span("root") as root:
        assert not root.is_recording()
        started = current_context()["traceparent"]
        with tracing.span("inner"):
            inner = current_context()["traceparent"]
    version, trace_id, span_id, flags = started.split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "00")
    assert inner.startswith(f"00-{trace_id}-") and inner != started
    # A caller's trace continues with its sampling decision and state, under a span of our own.
    with tracing.span("child", parent=context_from(PARENT, "vendor=opaque")) as child:
        assert not child.is_recording()
        sent = current_context()
    assert sent["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert sent["traceparent"].endswith("-01") and "b7ad6b7169203331" not in sent["traceparent"]
    assert sent["tracestate"] == "vendor=opaque"
    unsampled = PARENT[:-2] + "00"
    with tracing.span("child", parent=context_from(unsampled)):
        assert current_context()["traceparent"].endswith("-00")


def test_an_otlp_endpoint_that_is_not_a_url_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL" in str(refused.value)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert ServiceSettings().otlp_endpoint == "http://127.0.0.1:4318"


def test_an_http_span_is_named_by_its_route_and_a_bad_traceparent_is_ignored() -> None:
    exported = InMemorySpanExporter()
    tracing = Tracing.recording("test", SimpleSpanProcessor(exported))
    app = FastAPI()

    @app.get("/api/v1/cases/{case_id}")
    async def read(case_id: str) -> dict[str, str]:
        bind_case("BPT-2026-000042")
        return {"id": case_id}

    app.add_middleware(TracingMiddleware, tracing=tracing)
    with TestClient(app) as client:
        bad = client.get("/api/v1/cases/abc", headers={"traceparent": "00-zz-" + CHILD_NAME})
        assert bad.status_code == 200
        good = client.get("/api/v1/cases/abc?name=" + CHILD_NAME, headers={"traceparent": PARENT})
        assert good.status_code == 200
    started, span = exported.get_finished_spans()
    assert started.parent is None  # the bad one started a trace of its own
    assert f"{started.context.trace_id:032x}" != "0af7651916cd43dd8448eb211c80319c"
    assert CHILD_NAME not in started.to_json()
    assert span.name == "GET /api/v1/cases/{case_id}"
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert span.attributes == {
        "http.request.method": "GET",
        "jejaring.case.reference": "BPT-2026-000042",
        "http.route": "/api/v1/cases/{case_id}",
        "http.response.status_code": 200,
    }
    assert CHILD_NAME not in span.to_json()


def test_a_calls_own_field_never_replaces_the_lines_service() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "referral requested", None, None)
    record.service = "law_enforcement"
    line = json.loads(JsonFormatter("referral").format(record))
    assert (line["service"], line["extra_service"]) == ("referral", "law_enforcement")
