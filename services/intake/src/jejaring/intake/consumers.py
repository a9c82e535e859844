"""Intake's durable consumers: what each reads, by name. Apart from the handlers so that the NATS
configuration (`jejaring up`, `jejaring nats-config`) reads them without importing the service."""

from __future__ import annotations

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.provision import ConsumerSpec

REFERRAL_EVENTS_CONSUMER = ConsumerSpec(
    stream=subjects.REFERRAL_EVENTS_STREAM,
    durable="intake-referral-events",
    filter_subjects=(subjects.REFERRAL_EVENTS_ALL,),
    description="intake keeps its read model of referral statuses",
)
