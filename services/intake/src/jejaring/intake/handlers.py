"""Intake's event handlers: thin, they validate and call the service layer."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import duplicates, read_model
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import (
    PartnerDeactivated,
    ReferralEscalated,
    ReferralNeedUnmet,
    ReferralOverdue,
    ReferralStatusChanged,
)
from jejaring.shared.messaging.consumer import PoisonMessage

_KEPT = "intake.kept_case_of"


async def on_referral_event(session: AsyncSession, envelope: Envelope) -> None:
    """referral.v1.event.* -> the read model of referral statuses (and of partners no longer
    active)."""
    data = envelope.data
    if isinstance(
        data, ReferralStatusChanged | ReferralOverdue | ReferralEscalated | ReferralNeedUnmet
    ):
        # a merged case's referrals live on in the kept case, whatever referral still says
        kept = await _kept_case_of(session, data.case_id)
        if kept != data.case_id:
            data = data.model_copy(update={"case_id": kept})
    if isinstance(data, ReferralStatusChanged | ReferralOverdue | ReferralEscalated):
        await read_model.record_referral_fact(session, fact=data)
    elif isinstance(data, ReferralNeedUnmet):
        await read_model.record_unmet_need(session, fact=data)
    elif isinstance(data, PartnerDeactivated):
        await read_model.record_inactive_partner(session, fact=data)
    else:
        raise PoisonMessage(f"unexpected event type {envelope.type} on referral events")


async def _kept_case_of(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID:
    """duplicates.kept_case_of, asked once a case in a consumer's transaction: the events of a
    batch are mostly a case's referrals, three at a time. Nothing merges a case inside it."""
    known: dict[uuid.UUID, uuid.UUID] = session.info.setdefault(_KEPT, {})
    if case_id not in known:
        known[case_id] = await duplicates.kept_case_of(session, case_id)
    return known[case_id]
