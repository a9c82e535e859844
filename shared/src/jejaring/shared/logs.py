"""Structured JSON logs on stderr. Log ids and references, never personal data.

Every line of the work one case or one event caused carries its correlation ids: the case's
reference (`case_reference`), the id of the CloudEvent being handled (`event_id`) and the trace
(`trace_id`). They live in context variables, set where a request handles a case or a consumer
handles an event (`correlated`, `bind_case`), so no call site has to pass them on.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

_CASE_REFERENCE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "case_reference", default=None
)
_EVENT_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)


@contextlib.contextmanager
def correlated(*, case_reference: str | None = None, event_id: str | None = None) -> Iterator[None]:
    """Within the block, log lines carry these ids (a new scope: outer ids are hidden)."""
    tokens = (_CASE_REFERENCE.set(case_reference), _EVENT_ID.set(event_id))
    try:
        yield
    finally:
        _CASE_REFERENCE.reset(tokens[0])
        _EVENT_ID.reset(tokens[1])


def bind_case(reference: str) -> None:
    """From here on in this scope, log lines carry the case's reference (and the span too)."""
    _CASE_REFERENCE.set(reference)
    trace.get_current_span().set_attribute("jejaring.case.reference", reference)


def bind_event(event_id: str) -> None:
    """From here on in this scope, log lines carry this CloudEvent id, unless one is set."""
    if _EVENT_ID.get() is None:
        _EVENT_ID.set(event_id)


def correlation() -> dict[str, str]:
    """The correlation ids of the current scope, for a log line."""
    ids: dict[str, str] = {}
    reference, event_id = _CASE_REFERENCE.get(), _EVENT_ID.get()
    if reference is not None:
        ids["case_reference"] = reference
    if event_id is not None:
        ids["event_id"] = event_id
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        ids["trace_id"] = format(span.trace_id, "032x")
    return ids


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            # read here, in the thread and task that logged (a StreamHandler formats at once)
            **correlation(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                # a call's own field never replaces the line's (its service, time, ids…)
                entry[f"extra_{key}" if key in entry else key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

    def formatException(self, ei: Any) -> str:
        """Tracebacks without messages that may echo input: a ValidationError names fields
        only (its message would repeat the values it refused); a database error names its
        type and SQLSTATE only (PostgreSQL's detail repeats the stored values, e.g. a unique
        violation's "Key (name)=(…) already exists")."""
        _type, exc, tb = ei
        frames = "".join(traceback.format_tb(tb))
        if isinstance(exc, ValidationError):
            fields = ", ".join(
                ".".join(str(p) for p in e["loc"]) or "<root>"
                for e in exc.errors(include_input=False, include_url=False)
            )
            return f"Traceback (most recent call last):\n{frames}ValidationError at: {fields}"
        database = _database_error(exc)
        if database is not None:
            orig = getattr(database, "orig", None)
            code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "-"
            driver = type(orig).__name__ if orig is not None else type(database).__name__
            return (
                f"Traceback (most recent call last):\n{frames}{type(exc).__name__}: "
                f"database error {driver} (SQLSTATE {code}); its message is withheld, it may "
                "hold stored values"
            )
        return super().formatException(ei)


def _database_error(exc: BaseException | None) -> DBAPIError | None:
    """The database error `exc` is or was caused by, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DBAPIError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "alembic.runtime.migration", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class Sparse:
    """A log line that outsiders can cause once a message (a partner's junk at full speed) is
    let through at most once per `seconds` per key; `allow` returns how many were held back
    since the last one it let through, or None to hold this one back too."""

    def __init__(self, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._quiet_until: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def allow(self, key: str) -> int | None:
        now = self._clock()
        if now < self._quiet_until.get(key, 0.0):
            self._held[key] += 1
            return None
        self._quiet_until[key] = now + self.seconds
        return self._held.pop(key, 0)
