"""CloudEvents 1.0 in binary mode over NATS headers (docs/design.md §4).

Attributes travel as `ce-*` headers, the payload as JSON data; `Nats-Msg-Id` equals `ce-id` so
that JetStream drops a repeated publish. Headers never carry personal data: ids only.

The data is always JSON: `ce-datacontenttype: application/json` (the binding's name for the
attribute) and, for readers of the first v1 release, `content-type` with the same value. A
reader assumes JSON when neither is present (older producers) and refuses any other media type:
a change of encoding is never an optional addition, so it is not something v1 may grow into.

Trace context travels as the CloudEvents Distributed Tracing extension: `ce-traceparent` and,
when the trace has one, `ce-tracestate` (W3C Trace Context values: random ids and flags, no
personal data). A reader also takes a plain `traceparent`/`tracestate` header (what generic
OpenTelemetry NATS instrumentation writes) when the extension is absent (tracing.py).

A well-formed event of a type this version does not know (`org.jejaring.<thing>.<event>.v<n>`,
added by a newer producer) is reported as UnknownEventType, and only after every other part of
the envelope checked out: its reader acknowledges and skips it instead of dead-lettering it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from jejaring.shared.contract.events import BY_CE_TYPE, Event
from jejaring.shared.contract.subjects import CE_TYPE_RE

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
DATACONTENTTYPE = "ce-datacontenttype"
NATS_MSG_ID = "Nats-Msg-Id"
TRACEPARENT = "ce-traceparent"
TRACESTATE = "ce-tracestate"

REQUIRED_HEADERS = ("ce-specversion", "ce-id", "ce-source", "ce-type")


class EnvelopeError(ValueError):
    """A message that is not a valid Jejaring CloudEvent; the text says which part is wrong."""


class MissingHeader(EnvelopeError):
    def __init__(self, header: str) -> None:
        super().__init__(f"missing CloudEvents header {header!r}")
        self.header = header


class UnknownEventType(EnvelopeError):
    """A well-formed Jejaring CloudEvent of a type this version does not know (a newer
    producer's): not poison, its reader acknowledges and skips it. Its data was only checked
    to be JSON, and is not kept."""

    def __init__(self, ce_type: str, ce_id: str) -> None:
        super().__init__(f"unknown ce-type {ce_type!r}")
        self.ce_type = ce_type
        self.id = ce_id


class InvalidPayload(EnvelopeError):
    """The data does not match the schema of its ce-type. Holds field paths, never values."""

    def __init__(self, ce_type: str, error: ValidationError) -> None:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['type']}"
            for e in error.errors(include_input=False, include_url=False)
        )
        super().__init__(f"invalid data for {ce_type}: {problems}")
        self.ce_type = ce_type


@dataclass(frozen=True)
class Envelope:
    """A decoded event with its CloudEvents attributes."""

    data: Event
    id: str
    source: str
    time: dt.datetime
    subject: str | None = None
    correlation_id: str | None = None
    nats_subject: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def type(self) -> str:
        return self.data.ce_type


@dataclass(frozen=True)
class OutgoingMessage:
    """What to publish: NATS subject, headers and body."""

    subject: str
    headers: dict[str, str]
    body: bytes
    msg_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "msg_id", self.headers[NATS_MSG_ID])


def new_event_id() -> str:
    """A fresh CloudEvents id."""
    return str(uuid.uuid4())


def encode(
    event: Event,
    *,
    source: str,
    event_id: str | None = None,
    time: dt.datetime | None = None,
    trace: Mapping[str, str] | None = None,
) -> OutgoingMessage:
    """Turn `event` into a NATS message in CloudEvents binary mode; `trace` is the W3C context
    it is created in ({'traceparent': …, 'tracestate': …}), carried as the tracing extension."""
    ce_id = event_id or new_event_id()
    when = (time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    headers = {
        "ce-specversion": SPECVERSION,
        "ce-id": ce_id,
        "ce-source": source,
        "ce-type": event.ce_type,
        "ce-time": when.isoformat().replace("+00:00", "Z"),
        "ce-subject": event.ce_subject(),
        DATACONTENTTYPE: CONTENT_TYPE,
        "content-type": CONTENT_TYPE,
        NATS_MSG_ID: ce_id,
    }
    correlation = event.correlation_id()
    if correlation:
        headers["ce-correlationid"] = correlation
    if trace:
        for attribute, header in (("traceparent", TRACEPARENT), ("tracestate", TRACESTATE)):
            if trace.get(attribute):
                headers[header] = trace[attribute]
    body = event.model_dump_json(exclude_none=True).encode()
    return OutgoingMessage(subject=event.nats_subject(), headers=headers, body=body)


def decode(
    headers: Mapping[str, str] | None, body: bytes, *, nats_subject: str | None = None
) -> Envelope:
    """Parse a NATS message into an Envelope, or raise EnvelopeError saying what is wrong
    (UnknownEventType for a well-formed event of a type this version does not know)."""
    headers = headers or {}
    for name in REQUIRED_HEADERS:
        if not headers.get(name):
            raise MissingHeader(name)
    if headers["ce-specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported ce-specversion {headers['ce-specversion']!r}")
    for name in (DATACONTENTTYPE, "content-type"):
        media_type = headers.get(name, CONTENT_TYPE)
        if media_type.split(";")[0].strip().lower() != CONTENT_TYPE:
            raise EnvelopeError(f"unsupported {name} {media_type!r}")
    raw_time = headers.get("ce-time")
    try:
        time = dt.datetime.fromisoformat(raw_time) if raw_time else dt.datetime.now(dt.UTC)
    except ValueError:
        raise EnvelopeError(f"ce-time is not an RFC 3339 time: {raw_time!r}") from None
    ce_type = headers["ce-type"]
    model = BY_CE_TYPE.get(ce_type)
    if model is None:
        raise _unknown(ce_type, headers["ce-id"], body)
    try:
        data = model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidPayload(ce_type, exc) from None
    return Envelope(
        data=data,
        id=headers["ce-id"],
        source=headers["ce-source"],
        time=time,
        subject=headers.get("ce-subject"),
        correlation_id=headers.get("ce-correlationid"),
        nats_subject=nats_subject,
        traceparent=headers.get(TRACEPARENT) or headers.get("traceparent"),
        tracestate=headers.get(TRACESTATE) or headers.get("tracestate"),
    )


def _unknown(ce_type: str, ce_id: str, body: bytes) -> EnvelopeError:
    """UnknownEventType for a type the contract may grow into with JSON data; otherwise the
    message is not a Jejaring event at all (a foreign type, or data that is not JSON)."""
    if not CE_TYPE_RE.fullmatch(ce_type):
        return EnvelopeError(f"ce-type {ce_type!r} is not an org.jejaring.<thing>.<event>.v<n>")
    try:
        json.loads(body)
    except ValueError:
        return EnvelopeError(f"data of {ce_type} is not JSON")
    return UnknownEventType(ce_type, ce_id)
