"""Referral's durable consumers: what each reads, by name. Apart from the handlers so that the NATS
configuration (`jejaring up`, `jejaring nats-config`) reads them without importing the service."""

from __future__ import annotations

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.provision import ConsumerSpec

CASES_CONSUMER = ConsumerSpec(
    stream=subjects.CASES_STREAM,
    durable="referral-cases",
    filter_subjects=(subjects.CASES_ALL,),
    description="referral routes every case event",
)

REPLIES_CONSUMER = ConsumerSpec(
    stream=subjects.REPLIES_STREAM,
    durable="referral-replies",
    filter_subjects=(subjects.REPLIES_ALL,),
    description="referral applies partners' answers",
)
