"""Report's consumers: the case events and the referral events, projected into the read model
(projection.py) in the consumer's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.report import projection
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import Envelope
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


async def on_event(session: AsyncSession, envelope: Envelope) -> None:
    """Any event of either stream -> the read model."""
    await projection.apply(session, envelope)
