"""Report's durable consumers: what each reads, by name. Apart from the handlers so that the NATS
configuration (`jejaring up`, `jejaring nats-config`) reads them without importing the service."""

from __future__ import annotations

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.provision import ConsumerSpec

CASES_CONSUMER = ConsumerSpec(
    stream=subjects.CASES_STREAM,
    durable="report-cases",
    filter_subjects=(
        subjects.CASE_CREATED,
        subjects.CASE_UPDATED,
        subjects.CASE_CLOSED,
        subjects.CASE_ERASED,
        subjects.CASE_MERGED,
    ),
    description="report counts cases (codes, dates and counts only)",
)

REFERRAL_EVENTS_CONSUMER = ConsumerSpec(
    stream=subjects.REFERRAL_EVENTS_STREAM,
    durable="report-referral-events",
    filter_subjects=(subjects.REFERRAL_EVENTS_ALL,),
    description="report counts referrals and their answers",
)
