"""Intake's read model of referrals: the statuses and unmet needs referral's events report,
and each referral's history of steps."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.models import InactivePartner, ReferralStep, ReferralView, UnmetNeed
from jejaring.shared.contract import events as ev
from jejaring.shared.db import insert_or_ignore, upsert_if_newer


async def referrals_of(
    session: AsyncSession, *, case_id: uuid.UUID
) -> tuple[list[ReferralView], list[UnmetNeed]]:
    """The referral statuses and unmet needs intake has seen for a case."""
    referrals = await session.scalars(
        select(ReferralView).where(ReferralView.case_id == case_id).order_by(ReferralView.service)
    )
    unmet = await session.scalars(select(UnmetNeed).where(UnmetNeed.case_id == case_id))
    return list(referrals.all()), list(unmet.all())


async def steps_of(
    session: AsyncSession, *, case_id: uuid.UUID
) -> dict[uuid.UUID, list[ReferralStep]]:
    """Each referral's steps intake has seen for a case, oldest first (by the referral's
    sequence, whatever order the events arrived in)."""
    rows = await session.scalars(
        select(ReferralStep)
        .where(ReferralStep.case_id == case_id)
        .order_by(ReferralStep.referral_id, ReferralStep.sequence)
    )
    steps: dict[uuid.UUID, list[ReferralStep]] = {}
    for step in rows.all():
        steps.setdefault(step.referral_id, []).append(step)
    return steps


_RECORD_FACT = upsert_if_newer(
    cast(Table, ReferralView.__table__), key="referral_id", version="sequence"
)


# A step per event: the primary key (referral, sequence, kind) makes a repeat add nothing.
_RECORD_STEP = insert_or_ignore(cast(Table, ReferralStep.__table__))
_STEP_KINDS: dict[type[ev.Event], str] = {
    ev.ReferralStatusChanged: "status_changed",
    ev.ReferralOverdue: "overdue",
    ev.ReferralEscalated: "escalated",
}


async def record_referral_fact(
    session: AsyncSession,
    *,
    fact: ev.ReferralStatusChanged | ev.ReferralOverdue | ev.ReferralEscalated,
) -> bool:
    """Update the read model from a referral event; an older event never overwrites a newer.
    The event is also kept as a step of the referral's history (once, whenever it arrives).

    Returns whether the view changed.
    """
    result = await session.execute(
        _RECORD_FACT,
        {
            "referral_id": fact.referral_id,
            "case_id": fact.case_id,
            "partner_slug": fact.partner_slug,
            "service": fact.service.value,
            "status": fact.status.value,
            "business_status": [b.value for b in fact.business_status],
            "sequence": fact.sequence,
            "accept_by": fact.accept_by,
            "updated_at": fact.occurred_at,
            "partner_kind": fact.partner_kind.value if fact.partner_kind else None,
        },
    )
    await session.execute(
        _RECORD_STEP,
        {
            "referral_id": fact.referral_id,
            "sequence": fact.sequence,
            "kind": _STEP_KINDS[type(fact)],
            "case_id": fact.case_id,
            "status": fact.status.value,
            "business_status": [b.value for b in fact.business_status],
            "answered_by": fact.by if isinstance(fact, ev.ReferralStatusChanged) else None,
            "occurred_at": fact.occurred_at,
        },
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_unmet_need(session: AsyncSession, *, fact: ev.ReferralNeedUnmet) -> None:
    """Remember a need no partner could take, so the officer sees it on the case."""
    existing = await session.get(UnmetNeed, (fact.case_id, fact.service.value))
    if existing is None:
        session.add(
            UnmetNeed(
                case_id=fact.case_id,
                service=fact.service.value,
                reason=fact.reason,
                occurred_at=fact.occurred_at,
            )
        )


async def record_inactive_partner(session: AsyncSession, *, fact: ev.PartnerDeactivated) -> None:
    """Remember a partner referral deactivated: its staff receive no documents any more."""
    if await session.get(InactivePartner, fact.partner_slug) is None:
        session.add(
            InactivePartner(partner_slug=fact.partner_slug, deactivated_at=fact.deactivated_at)
        )
