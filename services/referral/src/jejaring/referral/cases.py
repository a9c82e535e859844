"""Case events: the newest snapshot of each case, what a change does to its referrals, closing."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy, retention
from jejaring.referral.facts import Deps, log, transition
from jejaring.referral.models import CaseState, Referral, UnmetNeed
from jejaring.referral.partners import list_partners
from jejaring.referral.routing import route_case
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import personal
from jejaring.shared.contract.enums import BusinessStatus, PartnerKind, ReferralStatus

ERASED = "erased"  # a case status: its key was deleted (case.v1.erased)
MERGED = "merged"  # a case status: merged into another (case.v1.merged), its referrals moved
_DONE = frozenset({"closed", ERASED, MERGED})


async def record_case(
    session: AsyncSession, *, case: ev.CaseSnapshot, deps: Deps, now: dt.datetime
) -> list[Referral]:
    """case.v1.created/updated: keep the newest snapshot (its personal fields sealed as they
    came), apply what changed, route. A sealed case whose key is gone was erased: it is kept
    stripped and never routed."""
    state = await session.get(CaseState, case.case_id, with_for_update=True)
    if state is not None and (state.version >= case.version or state.status in _DONE):
        return []  # an older or repeated version, or a closed or erased case: nothing to do
    previous = ev.CaseSnapshot.model_validate(state.snapshot) if state and state.snapshot else None
    erased = deps.keys.erased(case)
    snapshot = (personal.strip(case) if erased else case).model_dump(
        mode="json", exclude={"changed"}
    )
    first_seen = state is None
    if state is None:
        state = CaseState(case_id=case.case_id)
        session.add(state)
    state.reference = case.reference
    state.version = case.version
    state.status = ERASED if erased else "open"
    state.snapshot = snapshot
    state.updated_at = now
    await session.flush()
    if erased:
        return []
    if previous is not None:
        await _apply_changes(session, previous=previous, case=case, deps=deps, now=now)
    return await route_case(session, case=case, deps=deps, now=now, first_seen=first_seen)


async def _apply_changes(
    session: AsyncSession,
    *,
    previous: ev.CaseSnapshot,
    case: ev.CaseSnapshot,
    deps: Deps,
    now: dt.datetime,
) -> None:
    """Consent withdrawn from a kind of partner cancels its referrals; a new risk level or a
    proof of inability to pay updates the open ones."""
    rows = await session.scalars(select(Referral).where(Referral.case_id == case.case_id))
    partners = {p.slug: p for p in await list_partners(session)}
    clear, seal = deps.keys.opened(case)  # a partner's view holds personal data: sealed row
    for r in rows.all():
        if ReferralStatus(r.status) in policy.FINAL:
            continue
        partner = partners.get(r.partner_slug)
        kind = PartnerKind(partner.kind) if partner else None
        if kind is not None and kind not in case.consent.scope:
            await transition(
                session,
                r,
                ReferralStatus.CANCELLED,
                reason="consent withdrawn",
                note=None,
                deps=deps,
                now=now,
            )
            continue
        changed: list[str] = []
        if case.risk_level != previous.risk_level:
            r.risk_level = case.risk_level.value
            r.priority = policy.priority_of(case).value
            if r.status == ReferralStatus.REQUESTED and partner is not None:
                deadline = policy.acceptance_deadline(partner.deadlines, case.risk_level)
                r.accept_by = min(r.accept_by, now + deadline)
            changed.append("risk_level")
        pending = BusinessStatus.ELIGIBILITY_PENDING.value
        if case.legal_aid_proof is not None and pending in r.business_status:
            r.business_status = [b for b in r.business_status if b != pending]
            changed.append("legal_aid_proof")
        if not changed or kind is None:
            continue
        r.sequence += 1
        r.updated_at = now
        await deps.outbox.add(
            session,
            ev.ReferralUpdated(
                referral_id=r.id,
                partner_slug=r.partner_slug,
                case_reference=r.case_reference,
                priority=r.priority,
                accept_by=r.accept_by,
                business_status=tuple(r.business_status),
                updated_at=now,
                case=policy.partner_view(clear, kind, deps.region),
                changed=tuple(changed),
            ),
            time=now,
            seal=seal,
        )


async def close_case(
    session: AsyncSession, *, closed: ev.CaseClosed, deps: Deps, now: dt.datetime
) -> None:
    """case.v1.closed: every referral still open is cancelled (and its partner told)."""
    state = await session.get(CaseState, closed.case_id, with_for_update=True)
    if state is not None and state.status in _DONE:
        return
    if state is None:  # closed before its creation reached us: remember, so it is never routed
        state = CaseState(case_id=closed.case_id, snapshot={})
        session.add(state)
    state.reference = closed.reference
    state.version = closed.version
    state.status = "closed"
    state.snapshot = retention.loop_view(state.snapshot or {})
    state.updated_at = now
    await _cancel_open(session, closed.case_id, f"case closed: {closed.outcome.value}", deps, now)


async def erase_case(
    session: AsyncSession, *, erased: ev.CaseErased, deps: Deps, now: dt.datetime
) -> None:
    """case.v1.erased: the key is forgotten, the snapshot cut to what a closed case keeps (no
    personal field, sealed or clear), and every referral still open cancelled as when the case
    closes."""
    deps.keys.forget(erased.case_id)
    state = await session.get(CaseState, erased.case_id, with_for_update=True)
    if state is None:  # erased before its creation reached us: never routed
        state = CaseState(case_id=erased.case_id, version=0, snapshot={})
        session.add(state)
    else:  # what a closed case keeps (also when it was closed already)
        state.snapshot = retention.loop_view(state.snapshot or {})
    state.reference = erased.reference
    state.status = ERASED
    state.updated_at = now
    await _cancel_open(session, erased.case_id, "case erased", deps, now)


async def merge_case(
    session: AsyncSession, *, merged: ev.CaseMerged, deps: Deps, now: dt.datetime
) -> int:
    """case.v1.merged: the duplicate's referrals (and needs no partner could take) now belong
    to the kept case, whatever their status; none is cancelled and no partner is told (a
    partner answers by referral, and keeps the reference it was given). The duplicate is
    never routed again. Returns how many referrals moved."""
    state = await session.get(CaseState, merged.case_id, with_for_update=True)
    if state is None:  # merged before its creation reached us: never routed
        state = CaseState(case_id=merged.case_id, version=0, snapshot={})
        session.add(state)
    else:
        state.snapshot = retention.loop_view(state.snapshot or {})
    state.reference = merged.reference
    state.status = MERGED
    state.updated_at = now
    moved = await session.execute(
        update(Referral)
        .where(Referral.case_id == merged.case_id)
        .values(case_id=merged.into_case_id)
    )
    kept_needs = select(UnmetNeed.service).where(UnmetNeed.case_id == merged.into_case_id)
    await session.execute(
        delete(UnmetNeed).where(
            UnmetNeed.case_id == merged.case_id, UnmetNeed.service.in_(kept_needs)
        )
    )
    await session.execute(
        update(UnmetNeed)
        .where(UnmetNeed.case_id == merged.case_id)
        .values(case_id=merged.into_case_id)
    )
    count = int(moved.rowcount)  # type: ignore[attr-defined]
    log.info(
        "case merged: referrals moved",
        extra={"case": merged.reference, "into": merged.into_reference, "referrals": count},
    )
    return count


async def _cancel_open(
    session: AsyncSession, case_id: uuid.UUID, reason: str, deps: Deps, now: dt.datetime
) -> None:
    rows = await session.scalars(select(Referral).where(Referral.case_id == case_id))
    for r in rows.all():
        if ReferralStatus(r.status) not in policy.FINAL:
            await transition(
                session, r, ReferralStatus.CANCELLED, reason=reason, note=None, deps=deps, now=now
            )
