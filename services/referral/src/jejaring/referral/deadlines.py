"""Deadlines and escalation (R4): a referral not accepted in time is overdue, then offered on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.facts import Deps, fact_fields, log
from jejaring.referral.models import CaseState, Referral
from jejaring.referral.routing import active_partners, candidates, request_referral, the_partner
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import BusinessStatus, ReferralStatus, Service


async def check_deadlines(
    session: AsyncSession, *, deps: Deps, now: dt.datetime, limit: int = 200
) -> int:
    """Referrals not accepted by their deadline become overdue, then are escalated: the
    coordinator is told, and where another partner offers the service it is offered there."""
    query = (
        select(Referral)
        .where(
            Referral.status == ReferralStatus.REQUESTED.value,
            Referral.overdue_at.is_(None),
            Referral.accept_by <= now,
        )
        .order_by(Referral.accept_by)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list((await session.scalars(query)).all())
    for r in due:
        r.overdue_at = now
        r.business_status = [*r.business_status, BusinessStatus.OVERDUE.value]
        r.sequence += 1
        r.updated_at = now
        await deps.outbox.add(
            session, ev.ReferralOverdue(**await fact_fields(session, r, now)), time=now
        )
        offered = await _offer_elsewhere(session, r=r, deps=deps, now=now)
        r.business_status = [*r.business_status, BusinessStatus.ESCALATED.value]
        r.sequence += 1
        await deps.outbox.add(
            session,
            ev.ReferralEscalated(**await fact_fields(session, r, now), offered_to=offered),
            time=now,
        )
        log.warning(
            "referral overdue, escalated",
            extra={"referral": str(r.id), "partner": r.partner_slug, "offered_to": offered},
        )
    return len(due)


async def _offer_elsewhere(
    session: AsyncSession, *, r: Referral, deps: Deps, now: dt.datetime
) -> tuple[str, ...]:
    state = await session.get(CaseState, r.case_id)
    if state is None or state.status != "open" or not state.snapshot:
        return ()
    case = ev.CaseSnapshot.model_validate(state.snapshot)
    service = Service(r.service)
    taken = set(
        (
            await session.scalars(
                select(Referral.partner_slug).where(
                    Referral.case_id == r.case_id, Referral.service == r.service
                )
            )
        ).all()
    )
    _, allowed = candidates(await active_partners(session), case=case, service=service)
    others = [p for p in allowed if p.slug not in taken]
    if not others:
        return ()
    await request_referral(
        session,
        case=case,
        service=service,
        partner=await the_partner(session, others[0]),
        deps=deps,
        now=now,
        escalated_from=r.id,
    )
    return (others[0].slug,)
