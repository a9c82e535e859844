"""Notify's durable consumers: what each reads, by name. Apart from the handlers so that the NATS
configuration (`jejaring up`, `jejaring nats-config`) reads them without importing the service."""

from __future__ import annotations

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.provision import ConsumerSpec

REFERRAL_EVENTS_CONSUMER = ConsumerSpec(
    stream=subjects.REFERRAL_EVENTS_STREAM,
    durable="notify-referral-events",
    filter_subjects=(subjects.REFERRAL_EVENTS_ALL,),
    description="notify alerts people about referral events",
)

CASE_WORK_CONSUMER = ConsumerSpec(
    stream=subjects.CASES_STREAM,
    durable="notify-case-work",
    filter_subjects=(
        subjects.CASE_TASK_DUE,
        subjects.CASE_FEEDBACK_REQUESTED,
        subjects.CASE_ERASED,
    ),
    description="notify reminds officers of case-plan tasks and asks survivors for feedback",
)
