"""Routing: each need of a case to the first active partner that may take it, or unmet."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.facts import Deps, fact_fields, log
from jejaring.referral.models import Partner, Referral, UnmetNeed, covers
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import PartnerKind, ReferralStatus, Service

# Referral ids are derived from (case, service, partner): a replayed or re-driven case event
# yields the same ids, and the unique key holds even across processes.
REFERRAL_NAMESPACE = uuid.UUID("9a5cf3a4-54d8-4c1e-9f5e-2f0f3c6b7a01")


def referral_id(case_id: uuid.UUID, service: Service, slug: str) -> uuid.UUID:
    return uuid.uuid5(REFERRAL_NAMESPACE, f"{case_id}/{service.value}/{slug}")


class Offer(Protocol):
    """What routing reads of a partner: a row of `active_partners`, or a Partner."""

    @property
    def slug(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def services(self) -> list[str]: ...
    def covers(self, kelurahan_code: str) -> bool: ...


OfferT = TypeVar("OfferT", bound=Offer)


@dataclass(frozen=True)
class ActivePartner:
    """An active partner as routing weighs it, read as plain columns: a thousand partners loaded
    as ORM objects cost referral 70 ms of CPU a case (bench/results/partners.md)."""

    slug: str
    kind: str
    services: list[str]
    kelurahan: list[str]

    def covers(self, kelurahan_code: str) -> bool:
        return covers(self.kelurahan, kelurahan_code)


async def active_partners(session: AsyncSession) -> list[ActivePartner]:
    """Every active partner, oldest first (the first that may take a need gets it)."""
    rows = await session.execute(
        select(Partner.slug, Partner.kind, Partner.services, Partner.kelurahan)
        .where(Partner.active.is_(True))
        .order_by(Partner.created_at, Partner.slug)
    )
    return [
        ActivePartner(slug, kind, services, kelurahan or [])
        for slug, kind, services, kelurahan in rows.all()
    ]


async def the_partner(session: AsyncSession, chosen: Offer) -> Partner:
    """The whole partner routing chose (its name, contacts and deadlines go into the request)."""
    partner = await session.get(Partner, chosen.slug)
    assert partner is not None, chosen.slug  # partners are deactivated, never deleted
    return partner


def candidates(
    partners: Sequence[OfferT], *, case: ev.CaseSnapshot, service: Service
) -> tuple[list[OfferT], list[OfferT]]:
    """Active partners offering `service` in the case's kelurahan; and those consent covers."""
    offering = [
        p for p in partners if service.value in p.services and p.covers(case.kelurahan_code)
    ]
    allowed = [p for p in offering if PartnerKind(p.kind) in case.consent.scope]
    return offering, allowed


def request_event(
    r: Referral, *, case: ev.CaseSnapshot, partner: Partner, deps: Deps
) -> ev.ReferralRequested:
    """The request on the partner's stream: the referral and the partner kind's view of the
    case (R6)."""
    return ev.ReferralRequested(
        referral_id=r.id,
        partner_slug=partner.slug,
        case_reference=case.reference,
        service=Service(r.service),
        priority=r.priority,
        accept_by=r.accept_by,
        business_status=tuple(r.business_status),
        requested_at=r.requested_at,
        case=policy.partner_view(case, PartnerKind(partner.kind), deps.region),
    )


async def request_referral(
    session: AsyncSession,
    *,
    case: ev.CaseSnapshot,
    service: Service,
    partner: Partner,
    deps: Deps,
    now: dt.datetime,
    escalated_from: uuid.UUID | None = None,
    clear_unmet: bool = True,
) -> Referral:
    """Refer `service` of `case` to `partner`: the row, the request on the partner's stream (its
    R6 view of the case) and the status event."""
    deadline = policy.acceptance_deadline(partner.deadlines, case.risk_level)
    r = Referral(
        id=referral_id(case.case_id, service, partner.slug),
        case_id=case.case_id,
        case_reference=case.reference,
        partner_slug=partner.slug,
        service=service.value,
        status=ReferralStatus.REQUESTED.value,
        business_status=[b.value for b in policy.business_status_at_request(case, service)],
        priority=policy.priority_of(case).value,
        risk_level=case.risk_level.value,
        kelurahan_code=case.kelurahan_code,
        accept_by=now + deadline,
        requested_at=now,
        updated_at=now,
        sequence=1,
        escalated_from=escalated_from,
        # The request's id, known before the row is written (Nats-Msg-Id = ce-id), so the
        # reconciler can find it on the partner's stream.
        request_msg_id=str(uuid.uuid4()),
    )
    session.add(r)
    clear, seal = deps.keys.opened(case)  # the view holds personal data: its row is sealed
    await deps.outbox.add(
        session,
        request_event(r, case=clear, partner=partner, deps=deps),
        event_id=r.request_msg_id,
        time=now,
        seal=seal,
    )
    await deps.outbox.add(
        session, ev.ReferralStatusChanged(**await fact_fields(session, r, now)), time=now
    )
    if clear_unmet:
        await session.execute(
            delete(UnmetNeed).where(
                UnmetNeed.case_id == case.case_id, UnmetNeed.service == service.value
            )
        )
    log.info(
        "referral requested",
        extra={
            "referral": str(r.id),
            "case": case.reference,
            "partner": partner.slug,
            "need": service.value,
            "priority": r.priority,
        },
    )
    return r


async def _unmet(
    session: AsyncSession,
    *,
    case: ev.CaseSnapshot,
    service: Service,
    reason: str,
    deps: Deps,
    now: dt.datetime,
) -> None:
    if await session.get(UnmetNeed, (case.case_id, service.value)) is not None:
        return
    session.add(
        UnmetNeed(case_id=case.case_id, service=service.value, reason=reason, recorded_at=now)
    )
    await deps.outbox.add(
        session,
        ev.ReferralNeedUnmet(
            case_id=case.case_id,
            case_reference=case.reference,
            kelurahan_code=case.kelurahan_code,
            service=service,
            reason=reason,
            occurred_at=now,
        ),
        time=now,
    )
    log.warning("need unmet", extra={"case": case.reference, "need": service.value})


async def route_case(
    session: AsyncSession,
    *,
    case: ev.CaseSnapshot,
    deps: Deps,
    now: dt.datetime,
    first_seen: bool = False,
) -> list[Referral]:
    """Refer every needed service that has no referral yet; record the ones nobody can take.

    Idempotent: a service already referred (to any partner) is left alone, so replays,
    reconciler runs and escalations never duplicate or re-route. `first_seen`: the case has
    just got its state row, so it can have no referral and no unmet need yet.
    """
    routed: set[str] = set()
    if not first_seen:
        existing = await session.scalars(
            select(Referral.service).where(Referral.case_id == case.case_id)
        )
        routed = set(existing.all())
    needed = [s for s in policy.services_needed(case) if s.value not in routed]
    if not needed:
        return []
    partners = await active_partners(session)
    unmet: set[str] = set()
    if not first_seen:
        unmet = set(
            (
                await session.scalars(
                    select(UnmetNeed.service).where(UnmetNeed.case_id == case.case_id)
                )
            ).all()
        )
    chosen = {service: candidates(partners, case=case, service=service) for service in needed}
    # The partners chosen, whole (their names, contacts and deadlines go into the requests),
    # in one query.
    slugs = {allowed[0].slug for _, allowed in chosen.values() if allowed}
    whole: dict[str, Partner] = {}
    if slugs:
        found = await session.scalars(select(Partner).where(Partner.slug.in_(slugs)))
        whole = {p.slug: p for p in found.all()}
    created = []
    for service, (offering, allowed) in chosen.items():
        if not offering:
            reason = f"no active partner offers {service.value} in kelurahan {case.kelurahan_code}"
            await _unmet(session, case=case, service=service, reason=reason, deps=deps, now=now)
        elif not allowed:
            kinds = sorted({p.kind for p in offering})
            reason = f"consent does not cover {', '.join(kinds)}"
            await _unmet(session, case=case, service=service, reason=reason, deps=deps, now=now)
        else:
            created.append(
                await request_referral(
                    session,
                    case=case,
                    service=service,
                    partner=whole[allowed[0].slug],
                    deps=deps,
                    now=now,
                    clear_unmet=service.value in unmet,
                )
            )
    return created
