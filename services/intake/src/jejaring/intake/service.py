"""Intake's business logic."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.models import ReferralView
from jejaring.shared.events import ReferralEscalated, ReferralOverdue, ReferralStatusChanged


async def record_referral_fact(
    session: AsyncSession,
    *,
    fact: ReferralStatusChanged | ReferralOverdue | ReferralEscalated,
) -> bool:
    """Update the read model from a referral event; an older event never overwrites a newer.

    Returns whether the view changed.
    """
    view = await session.get(ReferralView, fact.referral_id, with_for_update=True)
    if view is not None and view.sequence >= fact.sequence:
        return False
    if view is None:
        view = ReferralView(referral_id=fact.referral_id)
        session.add(view)
    view.case_id = fact.case_id
    view.partner_slug = fact.partner_slug
    view.service = fact.service.value
    view.status = fact.status.value
    view.business_status = [b.value for b in fact.business_status]
    view.sequence = fact.sequence
    view.accept_by = fact.accept_by
    view.updated_at = fact.occurred_at
    return True
