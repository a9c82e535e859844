"""Every subject and stream name of the wire contract (docs/design.md §4), in one place."""

from __future__ import annotations

import re

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")

# Streams
CASES_STREAM = "CASES"
REPLIES_STREAM = "REPLIES"
REFERRAL_EVENTS_STREAM = "REFERRAL_EVENTS"
DLQ_STREAM = "DLQ"
AGENCY_STREAM_PREFIX = "AGENCY_"

# Subjects
CASE_CREATED = "case.v1.created"
CASE_UPDATED = "case.v1.updated"
CASE_CLOSED = "case.v1.closed"
CASE_ERASED = "case.v1.erased"
CASE_MERGED = "case.v1.merged"
# case work (issue 20): read by notify, not by referral
CASE_TASK_DUE = "case.v1.task.due"
CASE_FEEDBACK_REQUESTED = "case.v1.feedback.requested"
CASES_ALL = "case.v1.>"

REPLIES_ALL = "referral.v1.from.>"
REFERRAL_EVENTS_ALL = "referral.v1.event.>"
DLQ_ALL = "dlq.v1.>"

# CloudEvents type prefix: org.jejaring.<thing>.<event>.v1
CE_TYPE_PREFIX = "org.jejaring."
# Every type the contract has or may grow into (a reader skips one it does not know yet).
CE_TYPE_RE = re.compile(re.escape(CE_TYPE_PREFIX) + r"[a-z][a-z_]*\.[a-z][a-z_]*\.v[1-9][0-9]*")


class InvalidSlug(ValueError):
    """A partner slug that is not lowercase a-z0-9 and dashes."""


def check_slug(slug: str) -> str:
    """Return `slug` if it is a valid partner slug (lowercase a-z0-9-), else raise InvalidSlug."""
    if not SLUG_RE.fullmatch(slug):
        raise InvalidSlug(
            f"partner slug {slug!r} must be 1-40 characters of a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )
    return slug


def agency_stream(slug: str) -> str:
    """The stream name of a partner's own stream: AGENCY_<SLUG>, dashes become underscores."""
    return AGENCY_STREAM_PREFIX + check_slug(slug).upper().replace("-", "_")


def agency_subjects(slug: str) -> str:
    """The wildcard of every subject on a partner's own stream."""
    return f"referral.v1.to.{check_slug(slug)}.>"


def to_agency(slug: str, event: str) -> str:
    """`referral.v1.to.<slug>.<event>` (requested, cancelled, updated)."""
    return f"referral.v1.to.{check_slug(slug)}.{event}"


def from_agency(slug: str, status: str) -> str:
    """`referral.v1.from.<slug>.<status>`: a partner's reply."""
    return f"referral.v1.from.{check_slug(slug)}.{status}"


def replies_with(status: str) -> str:
    """Every partner's replies with one status: `referral.v1.from.*.<status>`."""
    return f"referral.v1.from.*.{status}"


def replies_of(slug: str) -> str:
    """The wildcard of every reply a partner may publish."""
    return f"referral.v1.from.{check_slug(slug)}.>"


def referral_event(status: str) -> str:
    """`referral.v1.event.<status>`, including overdue and escalated."""
    return f"referral.v1.event.{status}"


def dlq(service: str, original_subject: str) -> str:
    """The dead-letter subject for a message `service` gave up on."""
    return f"dlq.v1.{service}.{original_subject}"


def slug_of_reply(subject: str) -> str:
    """The partner slug in a `referral.v1.from.<slug>.<status>` subject."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[:3] != ["referral", "v1", "from"]:
        raise ValueError(f"not a partner reply subject: {subject!r}")
    return check_slug(parts[3])
