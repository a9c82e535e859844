"""Tracing and correlation ids across the real system: nats-server, the three services as
processes, a case posted with a caller's W3C `traceparent`. The partner's stream, notify's
deliveries, the spans a real OTLP/HTTP endpoint receives and the services' log lines all name
the same trace, and never the victim."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from tests.system.conftest import CASE, SERVICES, System, norm, running

from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.testing import VICTIM_NAME

TRACE_ID = uuid.uuid4().hex
CALLER_SPAN = uuid.uuid4().hex[:16]
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
PARTNER_STREAM = "AGENCY_POSBAKUM_AISYIYAH"


@dataclass
class Collector:
    """An OTLP/HTTP endpoint: keeps every export request's body as it arrived."""

    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[dict[str, Any]]:
        """Every span received: its service, name, ids (hex) and attributes."""
        out = []
        for body in list(self.bodies):
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append(
                            {
                                "service": resource["service.name"],
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "attributes": {
                                    a.key: a.value.string_value for a in span.attributes
                                },
                            }
                        )
        return out


@pytest.fixture
def collector() -> Iterator[Collector]:
    found = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/x-protobuf"
            found.paths.append(self.path)
            found.bodies.append(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: Any) -> None:
            pass

    found.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def new_system(tmp_path: Path, dbs: dict[str, str]) -> System:
    nats_server = NatsServer(
        store_dir=tmp_path / "jetstream", log_file=tmp_path / "nats.log"
    ).start()
    return System(tmp_path, dbs, nats_server)


def post_case(s: System, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(
        f"{s.url('intake')}/api/v1/cases",
        json=CASE,
        headers={**s.officer, "Idempotency-Key": str(uuid.uuid4()), **headers},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def trace_of(traceparent: str) -> tuple[str, str]:
    """(trace id, span id) of a W3C traceparent."""
    version, trace_id, span_id, _flags = traceparent.split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16
    return trace_id, span_id


def wait_for(s: System, reference: str, case_id: str, timeout: float = 60) -> dict[str, Any]:
    """The case's messages on CASES, REFERRAL_EVENTS and the partner's stream, and notify's
    delivery rows for its referral requests, once each referral's delivery was planned."""
    deadline = time.monotonic() + timeout
    while True:
        seen = asyncio.run(_seen(s, reference, case_id))
        settled = all(row.status in ("sent", "deferred") for row in seen["deliveries"])
        if len(seen["deliveries"]) >= 3 and settled and seen["partner"]:
            return seen
        assert time.monotonic() < deadline, f"the case did not flow through: {seen}"
        time.sleep(0.5)


async def _seen(s: System, reference: str, case_id: str) -> dict[str, Any]:
    def headers(msgs: list[Any]) -> list[dict[str, str]]:
        return [dict(m.headers) for m in msgs if m.headers]

    cases = [h for h in headers(await s._stream("CASES")) if norm(h["ce-subject"]) == norm(case_id)]
    facts = [
        h
        for h in headers(await s._stream("REFERRAL_EVENTS"))
        if h.get("ce-correlationid") and norm(h["ce-correlationid"]) == norm(case_id)
    ]
    fact_subjects = {norm(h["ce-subject"]) for h in facts}
    partner = [
        h
        for h in headers(await s._stream(PARTNER_STREAM))
        if norm(h["ce-subject"]) in fact_subjects
    ]
    deliveries = await s._rows(
        "notify",
        "SELECT event_id, traceparent, status FROM delivery "
        f"WHERE case_reference = '{reference}' AND trigger = 'referral_requested'",
    )
    return {"cases": cases, "facts": facts, "partner": partner, "deliveries": deliveries}


def log_lines(s: System, name: str) -> list[dict[str, Any]]:
    lines = []
    for raw in (s.tmp / f"{name}.log").read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_one_trace_from_the_officers_request_to_the_partner_and_the_alert_exported(
    tmp_path: Path,
    system_dbs: dict[str, str],
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    s = new_system(tmp_path, system_dbs)
    with running(s, {name: otel for name in SERVICES}):
        case = post_case(s, {"traceparent": TRACEPARENT, "tracestate": "vendor=opaque"})
        reference = case["reference"]
        seen = wait_for(s, reference, case["id"])

        # The event intake published continues the caller's trace from intake's own span.
        (created,) = seen["cases"]
        case_trace, intake_span = trace_of(created["ce-traceparent"])
        assert case_trace == TRACE_ID and intake_span != CALLER_SPAN
        assert created["ce-tracestate"] == "vendor=opaque"
        # What referral published (to the partner, and its facts) is in the same trace, from
        # the span that handled the case.
        (to_partner,) = seen["partner"]
        partner_trace, referral_span = trace_of(to_partner["ce-traceparent"])
        assert partner_trace == TRACE_ID and referral_span not in (CALLER_SPAN, intake_span)
        assert {trace_of(h["ce-traceparent"]) for h in seen["facts"]} == {(TRACE_ID, referral_span)}
        # Notify's deliveries: planned in the span that handled referral's facts.
        delivery_contexts = {trace_of(row.traceparent) for row in seen["deliveries"]}
        assert {t for t, _ in delivery_contexts} == {TRACE_ID}
        notify_spans = {span for _, span in delivery_contexts}

        expected = {intake_span, referral_span, *notify_spans}
        sends_expected = sum(row.status == "sent" for row in seen["deliveries"])
    # The spans, as an OTLP collector receives them, once the services stopped as an operator
    # stops them (SIGTERM): a stopping service exports what it still holds. (Read after the
    # stop because under CI's libfaketime a thread's timed wait, and so the exporter's 100 ms
    # schedule, never ends; a stop wakes it.) Every hop's span, and one per send.
    spans = [x for x in collector.spans() if x["trace_id"] == TRACE_ID]
    ids = {x["span_id"] for x in spans}
    sends = [x for x in spans if x["name"].startswith("deliver ")]
    assert expected <= ids, f"spans missing: {expected - ids}"
    by_id = {x["span_id"]: x for x in spans}
    assert set(collector.paths) == {"/v1/traces"}

    server = by_id[intake_span]
    assert (server["service"], server["name"]) == ("jejaring-intake", "POST /api/v1/cases")
    assert server["parent"] == CALLER_SPAN  # the caller's span
    assert server["attributes"]["jejaring.case.reference"] == reference

    routed = by_id[referral_span]
    assert routed["service"] == "jejaring-referral"
    assert routed["name"] == "process org.jejaring.case.created.v1"
    assert routed["parent"] == intake_span  # continued from the event
    assert routed["attributes"]["cloudevents.event_id"] == created["ce-id"]
    assert routed["attributes"]["messaging.consumer.group.name"] == "referral-cases"
    assert routed["attributes"]["jejaring.case.reference"] == reference

    for notify_span in notify_spans:
        planned = by_id[notify_span]
        assert planned["service"] == "jejaring-notify"
        assert planned["name"] == "process org.jejaring.referral.status_changed.v1"
        assert planned["parent"] == referral_span
    assert len(sends) == sends_expected >= 1  # polresta-ppa keeps no quiet hours
    assert {x["parent"] for x in sends} <= notify_spans
    assert all(x["attributes"]["jejaring.case.reference"] == reference for x in sends)

    # No span, attribute or resource holds the victim's name, in any export request.
    assert collector.bodies
    assert not [b for b in collector.bodies if VICTIM_NAME.encode() in b]

    # The log lines of this work name the case and the event, never the victim.
    for name in SERVICES:
        assert VICTIM_NAME not in (s.tmp / f"{name}.log").read_text()
    recorded = [x for x in log_lines(s, "intake") if x["msg"] == "case recorded"]
    assert [(x["case_reference"], x["event_id"], x["trace_id"]) for x in recorded] == [
        (reference, created["ce-id"], TRACE_ID)
    ]
    requested = [x for x in log_lines(s, "referral") if x["msg"] == "referral requested"]
    assert len(requested) == 3
    assert {(x["case_reference"], x["event_id"], x["trace_id"]) for x in requested} == {
        (reference, created["ce-id"], TRACE_ID)
    }
    assert {x["service"] for x in requested} == {"referral"}, "the line names its service"
    fact_ids = {h["ce-id"] for h in seen["facts"]}
    alerts = [
        x
        for x in log_lines(s, "notify")
        if x["msg"] in ("delivery sent", "delivery deferred for quiet hours")
        and x.get("case_reference") == reference
    ]
    assert len(alerts) >= 3
    assert {x["event_id"] for x in alerts} <= fact_ids
    assert {x["trace_id"] for x in alerts} == {TRACE_ID}


def test_without_an_otlp_endpoint_nothing_is_exported_and_the_trace_still_travels(
    tmp_path: Path,
    system_dbs: dict[str, str],
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    # Batches would go out every 100 ms if there were an exporter.
    quick = {"OTEL_BSP_SCHEDULE_DELAY": "100"}
    s = new_system(tmp_path, system_dbs)
    with running(s, {name: quick for name in SERVICES}):
        case = post_case(s, {"traceparent": TRACEPARENT})
        seen = wait_for(s, case["reference"], case["id"])
        # A case posted without a traceparent starts a trace of its own.
        other = post_case(s, {})
        other_seen = wait_for(s, other["reference"], other["id"])
        time.sleep(1.0)
    (created,) = seen["cases"]
    (to_partner,) = seen["partner"]
    intake_trace, intake_span = trace_of(created["ce-traceparent"])
    partner_trace, referral_span = trace_of(to_partner["ce-traceparent"])
    deliveries = {trace_of(row.traceparent) for row in seen["deliveries"]}
    assert {intake_trace, partner_trace} | {t for t, _ in deliveries} == {TRACE_ID}
    # Every hop a span of its own: intake's, referral's, and notify's for each fact it handled.
    hops = [CALLER_SPAN, intake_span, referral_span, *(span for _, span in deliveries)]
    assert len(set(hops)) == len(hops) == 6

    (other_created,) = other_seen["cases"]
    other_trace, _ = trace_of(other_created["ce-traceparent"])
    assert other_trace != TRACE_ID
    assert trace_of(other_seen["partner"][0]["ce-traceparent"])[0] == other_trace

    assert collector.bodies == []  # the endpoint was never called
