"""Referral's business logic: partners, routing, replies, deadlines and escalation.

Functions take keyword-only arguments and a session; the caller owns the transaction. Every
state change stages its events in the outbox in that same transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
from pydantic import TypeAdapter
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.models import CaseState, Partner, Referral, UnmetNeed
from jejaring.referral.schemas import Deadlines, PartnerIn, StatusIn
from jejaring.shared import events as ev
from jejaring.shared.enums import (
    BusinessStatus,
    PartnerKind,
    ReferralStatus,
    RiskLevel,
    Service,
)
from jejaring.shared.envelope import NATS_MSG_ID, OutgoingMessage
from jejaring.shared.errors import api_error, not_found
from jejaring.shared.outbox import Outbox
from jejaring.shared.region import Region
from jejaring.shared.tables import outbox
from jejaring.shared.tokens import new_token, token_hash

log = logging.getLogger(__name__)

# Referral ids are derived from (case, service, partner): a replayed or re-driven case event
# yields the same ids, and the unique key holds even across processes.
REFERRAL_NAMESPACE = uuid.UUID("9a5cf3a4-54d8-4c1e-9f5e-2f0f3c6b7a01")


def referral_id(case_id: uuid.UUID, service: Service, slug: str) -> uuid.UUID:
    return uuid.uuid5(REFERRAL_NAMESPACE, f"{case_id}/{service.value}/{slug}")


@dataclass(frozen=True)
class Deps:
    """What the business logic needs besides a session."""

    outbox: Outbox
    region: Region


# --- partners --------------------------------------------------------------------------------


def read_partner_file(path: Path) -> list[PartnerIn]:
    """Partners described in a JSON seed file."""
    return TypeAdapter(list[PartnerIn]).validate_json(path.read_bytes())


def _new_partner(data: PartnerIn, *, now: dt.datetime, token: str | None) -> Partner:
    return Partner(
        slug=data.slug,
        name=data.name,
        kind=data.kind.value,
        services=[s.value for s in data.services],
        kelurahan=list(data.kelurahan),
        contacts=[c.model_dump(mode="json", exclude_none=True) for c in data.contacts],
        deadlines=data.deadlines.model_dump(),
        token_hash=token_hash(token) if token else None,
        active=data.active,
        created_at=now,
    )


async def seed_partners(session: AsyncSession, *, partners: Sequence[PartnerIn]) -> list[str]:
    """Add the partners that are not registered yet; return the slugs added.

    Seeded partners get no API token; an admin issues one (`jejaring partner token`).
    """
    existing = set((await session.scalars(select(Partner.slug))).all())
    now = dt.datetime.now(dt.UTC)
    added = [p.slug for p in partners if p.slug not in existing]
    for p in partners:
        if p.slug in added:
            session.add(_new_partner(p, now=now, token=None))
    if added:
        log.info("partners seeded", extra={"partners": added})
    return added


async def add_partner(
    session: AsyncSession, *, data: PartnerIn, region: Region, now: dt.datetime
) -> tuple[Partner, str]:
    """Register a partner; return it with its API token (shown once)."""
    unknown = [k for k in data.kelurahan if region.kelurahan_by_code(k) is None]
    if unknown:
        raise api_error(
            422,
            "kelurahan",
            "unknown_kelurahan",
            f"Kode kelurahan tidak dikenal: {', '.join(unknown)}.",
            f"Unknown kelurahan codes: {', '.join(unknown)}.",
        )
    if await session.get(Partner, data.slug) is not None:
        raise api_error(
            409,
            "slug",
            "partner_exists",
            f"Mitra '{data.slug}' sudah terdaftar.",
            f"Partner '{data.slug}' is already registered.",
        )
    token = new_token()
    partner = _new_partner(data, now=now, token=token)
    session.add(partner)
    await session.flush()
    log.info("partner added", extra={"partner": data.slug, "kind": data.kind.value})
    return partner, token


async def get_partner(session: AsyncSession, *, slug: str, lock: bool = False) -> Partner:
    partner = await session.get(Partner, slug, with_for_update=lock)
    if partner is None:
        raise not_found("Mitra", "Partner")
    return partner


async def deactivate_partner(session: AsyncSession, *, slug: str) -> Partner:
    """No new referrals go to the partner; its open referrals stay visible and answerable."""
    partner = await get_partner(session, slug=slug, lock=True)
    partner.active = False
    log.info("partner deactivated", extra={"partner": slug})
    return partner


async def issue_token(session: AsyncSession, *, slug: str) -> tuple[Partner, str]:
    """A new API token for the partner; the old one stops working."""
    partner = await get_partner(session, slug=slug, lock=True)
    token = new_token()
    partner.token_hash = token_hash(token)
    log.info("partner token issued", extra={"partner": slug})
    return partner, token


async def issue_nats_credentials(session: AsyncSession, *, slug: str) -> tuple[Partner, str]:
    """A new NATS password for the partner (its user is `partner-<slug>`); only a bcrypt hash
    is kept, for the NATS server's configuration. The old password stops working once the
    configuration is regenerated and reloaded."""
    partner = await get_partner(session, slug=slug, lock=True)
    password = new_token()
    partner.nats_password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt(11)).decode()
    log.info("partner NATS credentials issued", extra={"partner": slug})
    return partner, password


async def nats_users(session: AsyncSession) -> list[tuple[str, str]]:
    """(slug, bcrypt hash) of every partner that has NATS credentials."""
    rows = await session.execute(
        select(Partner.slug, Partner.nats_password_hash)
        .where(Partner.nats_password_hash.is_not(None))
        .order_by(Partner.slug)
    )
    return [(slug, hashed) for slug, hashed in rows.all()]


async def partner_by_token(session: AsyncSession, *, token: str) -> Partner | None:
    found: Partner | None = await session.scalar(
        select(Partner).where(Partner.token_hash == token_hash(token))
    )
    return found


async def list_partners(session: AsyncSession) -> list[Partner]:
    rows = await session.scalars(select(Partner).order_by(Partner.created_at, Partner.slug))
    return list(rows.all())


async def partner_slugs(session: AsyncSession) -> list[str]:
    """Every registered partner, active or not (a deactivated one keeps its stream)."""
    return list((await session.scalars(select(Partner.slug).order_by(Partner.slug))).all())


async def partner_referrals(
    session: AsyncSession, *, slug: str, status: ReferralStatus | None = None
) -> list[Referral]:
    query = select(Referral).where(Referral.partner_slug == slug)
    if status is not None:
        query = query.where(Referral.status == status.value)
    rows = await session.scalars(query.order_by(Referral.requested_at.desc()).limit(500))
    return list(rows.all())


# --- events from a referral row -------------------------------------------------------------


async def _fact_fields(session: AsyncSession, r: Referral, now: dt.datetime) -> dict[str, Any]:
    """The fields every referral event carries, with who is involved (for notify)."""
    partner = await session.get(Partner, r.partner_slug)
    state = await session.get(CaseState, r.case_id)
    officer = (state.snapshot or {}).get("officer") if state is not None else None
    return {
        "referral_id": r.id,
        "case_id": r.case_id,
        "case_reference": r.case_reference,
        "partner_slug": r.partner_slug,
        "service": r.service,
        "kelurahan_code": r.kelurahan_code,
        "risk_level": r.risk_level,
        "priority": r.priority,
        "status": r.status,
        "business_status": tuple(r.business_status),
        "accept_by": r.accept_by,
        "sequence": r.sequence,
        "occurred_at": now,
        "partner_name": partner.name if partner else None,
        "partner_contacts": tuple(
            ev.Contact.model_validate(c) for c in (partner.contacts if partner else [])
        ),
        "officer": ev.Contact.model_validate(officer) if officer else None,
    }


async def _transition(
    session: AsyncSession,
    r: Referral,
    new: ReferralStatus,
    *,
    reason: str | None,
    note: str | None,
    deps: Deps,
    now: dt.datetime,
) -> None:
    previous = r.status
    r.status = new.value
    r.sequence += 1
    r.updated_at = now
    r.reason = reason
    r.note = note
    await deps.outbox.add(
        session,
        ev.ReferralStatusChanged(
            **await _fact_fields(session, r, now),
            previous_status=previous,
            reason=reason,
            note=note,
        ),
        time=now,
    )
    if new == ReferralStatus.CANCELLED:
        await deps.outbox.add(
            session,
            ev.ReferralCancelled(
                referral_id=r.id,
                partner_slug=r.partner_slug,
                case_reference=r.case_reference,
                reason=reason or "cancelled",
                cancelled_at=now,
            ),
            time=now,
        )


# --- routing ----------------------------------------------------------------------------------


async def _active_partners(session: AsyncSession) -> list[Partner]:
    rows = await session.scalars(
        select(Partner).where(Partner.active.is_(True)).order_by(Partner.created_at, Partner.slug)
    )
    return list(rows.all())


def _candidates(
    partners: list[Partner], *, case: ev.CaseSnapshot, service: Service
) -> tuple[list[Partner], list[Partner]]:
    """Active partners offering `service` in the case's kelurahan; and those consent covers."""
    offering = [
        p for p in partners if service.value in p.services and p.covers(case.kelurahan_code)
    ]
    allowed = [p for p in offering if PartnerKind(p.kind) in case.consent.scope]
    return offering, allowed


async def _request(
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
    deadline = Deadlines.model_validate(partner.deadlines).for_risk(case.risk_level)
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
    await deps.outbox.add(
        session,
        ev.ReferralRequested(
            referral_id=r.id,
            partner_slug=partner.slug,
            case_reference=case.reference,
            service=service,
            priority=r.priority,
            accept_by=r.accept_by,
            business_status=tuple(r.business_status),
            requested_at=now,
            case=policy.partner_view(case, PartnerKind(partner.kind), deps.region),
        ),
        event_id=r.request_msg_id,
        time=now,
    )
    await deps.outbox.add(
        session, ev.ReferralStatusChanged(**await _fact_fields(session, r, now)), time=now
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
            "service": service.value,
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
    log.warning("need unmet", extra={"case": case.reference, "service": service.value})


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
    partners = await _active_partners(session)
    unmet: set[str] = set()
    if not first_seen:
        unmet = set(
            (
                await session.scalars(
                    select(UnmetNeed.service).where(UnmetNeed.case_id == case.case_id)
                )
            ).all()
        )
    created = []
    for service in needed:
        offering, allowed = _candidates(partners, case=case, service=service)
        if not offering:
            reason = f"no active partner offers {service.value} in kelurahan {case.kelurahan_code}"
            await _unmet(session, case=case, service=service, reason=reason, deps=deps, now=now)
        elif not allowed:
            kinds = sorted({p.kind for p in offering})
            reason = f"consent does not cover {', '.join(kinds)}"
            await _unmet(session, case=case, service=service, reason=reason, deps=deps, now=now)
        else:
            created.append(
                await _request(
                    session,
                    case=case,
                    service=service,
                    partner=allowed[0],
                    deps=deps,
                    now=now,
                    clear_unmet=service.value in unmet,
                )
            )
    return created


async def record_case(
    session: AsyncSession, *, case: ev.CaseSnapshot, deps: Deps, now: dt.datetime
) -> list[Referral]:
    """case.v1.created/updated: keep the newest snapshot, apply what changed, route."""
    state = await session.get(CaseState, case.case_id, with_for_update=True)
    if state is not None and (state.version >= case.version or state.status == "closed"):
        return []  # an older or repeated version, or a closed case: nothing to do
    previous = ev.CaseSnapshot.model_validate(state.snapshot) if state and state.snapshot else None
    snapshot = case.model_dump(mode="json", exclude={"changed"})
    first_seen = state is None
    if state is None:
        state = CaseState(case_id=case.case_id)
        session.add(state)
    state.reference = case.reference
    state.version = case.version
    state.status = "open"
    state.snapshot = snapshot
    state.updated_at = now
    await session.flush()
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
    for r in rows.all():
        if ReferralStatus(r.status) in policy.FINAL:
            continue
        partner = partners.get(r.partner_slug)
        kind = PartnerKind(partner.kind) if partner else None
        if kind is not None and kind not in case.consent.scope:
            await _transition(
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
                deadline = Deadlines.model_validate(partner.deadlines).for_risk(case.risk_level)
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
                case=policy.partner_view(case, kind, deps.region),
                changed=tuple(changed),
            ),
            time=now,
        )


async def close_case(
    session: AsyncSession, *, closed: ev.CaseClosed, deps: Deps, now: dt.datetime
) -> None:
    """case.v1.closed: every referral still open is cancelled (and its partner told)."""
    state = await session.get(CaseState, closed.case_id, with_for_update=True)
    if state is not None and state.status == "closed":
        return
    if state is None:  # closed before its creation reached us: remember, so it is never routed
        state = CaseState(case_id=closed.case_id, snapshot={})
        session.add(state)
    state.reference = closed.reference
    state.version = closed.version
    state.status = "closed"
    state.updated_at = now
    rows = await session.scalars(select(Referral).where(Referral.case_id == closed.case_id))
    for r in rows.all():
        if ReferralStatus(r.status) not in policy.FINAL:
            await _transition(
                session,
                r,
                ReferralStatus.CANCELLED,
                reason=f"case closed: {closed.outcome.value}",
                note=None,
                deps=deps,
                now=now,
            )


# --- partner replies ---------------------------------------------------------------------------


async def apply_reply(
    session: AsyncSession,
    *,
    referral: uuid.UUID,
    slug: str,
    reply: StatusIn,
    deps: Deps,
    now: dt.datetime,
) -> Referral:
    """A partner's answer, over NATS or HTTP: the FHIR state machine decides."""
    r = await session.get(Referral, referral, with_for_update=True)
    if r is None or r.partner_slug != slug:
        if r is not None:
            log.warning(
                "security event: a partner answered for a referral it does not hold",
                extra={"security": True, "partner": slug, "referral": str(referral)},
            )
        raise not_found("Rujukan", "Referral")
    current = ReferralStatus(r.status)
    if reply.status == current:
        return r  # the same answer again changes nothing
    allowed = policy.allowed_next(current, by_partner=True)
    if reply.status not in allowed:
        names = ", ".join(s.value for s in allowed) or "tidak ada (status akhir)"
        names_en = ", ".join(s.value for s in allowed) or "none (final status)"
        raise api_error(
            409,
            "status",
            "illegal_transition",
            f"Status rujukan tidak dapat berubah dari '{current.value}' ke '{reply.status.value}'. "
            f"Yang diizinkan: {names}.",
            f"A referral cannot go from '{current.value}' to '{reply.status.value}'. "
            f"Allowed: {names_en}.",
        )
    if reply.status in policy.REASON_REQUIRED and not reply.reason:
        raise api_error(
            422,
            "reason",
            "reason_required",
            f"Alasan wajib diisi untuk status '{reply.status.value}'.",
            f"A reason is required for status '{reply.status.value}'.",
        )
    await _transition(
        session, r, reply.status, reason=reply.reason, note=reply.note, deps=deps, now=now
    )
    log.info(
        "referral answered",
        extra={"referral": str(r.id), "partner": slug, "status": reply.status.value},
    )
    return r


# --- deadlines and escalation (R4) -------------------------------------------------------------


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
            session, ev.ReferralOverdue(**await _fact_fields(session, r, now)), time=now
        )
        offered = await _offer_elsewhere(session, r=r, deps=deps, now=now)
        r.business_status = [*r.business_status, BusinessStatus.ESCALATED.value]
        r.sequence += 1
        await deps.outbox.add(
            session,
            ev.ReferralEscalated(**await _fact_fields(session, r, now), offered_to=offered),
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
    _, allowed = _candidates(await _active_partners(session), case=case, service=service)
    others = [p for p in allowed if p.slug not in taken]
    if not others:
        return ()
    await _request(
        session,
        case=case,
        service=service,
        partner=others[0],
        deps=deps,
        now=now,
        escalated_from=r.id,
    )
    return (others[0].slug,)


# --- reconciler ----------------------------------------------------------------------------------


async def published_requests(
    session: AsyncSession, *, limit: int = 1000
) -> list[tuple[uuid.UUID, str, int]]:
    """(referral id, partner slug, stream sequence) of open requests whose message JetStream
    acknowledged: what the stream must still hold."""
    rows = await session.execute(
        select(Referral.id, Referral.partner_slug, outbox.c.stream_seq)
        .join(outbox, outbox.c.msg_id == Referral.request_msg_id)
        .where(Referral.status == ReferralStatus.REQUESTED.value, outbox.c.stream_seq.is_not(None))
        .order_by(Referral.requested_at.desc())
        .limit(limit)
    )
    return [(rid, slug, int(seq)) for rid, slug, seq in rows.all()]


async def redrive_request(
    session: AsyncSession, *, referral: uuid.UUID, deps: Deps, now: dt.datetime
) -> None:
    """Publish a referral's request again, with the same CloudEvents id (partners deduplicate on
    it) and a new Nats-Msg-Id (JetStream would drop the old one as a duplicate)."""
    r = await session.get(Referral, referral, with_for_update=True)
    if r is None or r.status != ReferralStatus.REQUESTED.value or r.request_msg_id is None:
        return
    row = (await session.execute(select(outbox).where(outbox.c.msg_id == r.request_msg_id))).one()
    ce_id = row.headers["ce-id"]
    msg_id = f"{ce_id}.redrive.{int(now.timestamp() * 1000)}"
    await deps.outbox.add_message(
        session,
        OutgoingMessage(
            subject=row.subject, headers={**row.headers, NATS_MSG_ID: msg_id}, body=row.body
        ),
    )
    r.request_msg_id = msg_id
    log.warning(
        "referral request re-driven: missing from the partner stream",
        extra={"referral": str(r.id), "partner": r.partner_slug},
    )


async def reconcile(
    session: AsyncSession,
    *,
    deps: Deps,
    now: dt.datetime,
    horizon: dt.timedelta = dt.timedelta(days=30),
) -> int:
    """Re-drive open cases: any needed service without a referral gets one, with the same id
    routing would have given it. Returns how many referrals were created.

    Runs every minute over every open case, so it first finds, with two queries and without
    building a snapshot object per case, the cases that lack a referral for a needed service,
    and routes only those (routing every open case each minute was a burst of seconds of CPU at
    1,200 open cases, growing with every case; validating every snapshot still cost a
    latency spike of a few hundred ms each minute).
    """
    recent = (CaseState.status == "open", CaseState.updated_at >= now - horizon)
    referred = set(
        (
            await session.execute(
                select(Referral.case_id, Referral.service)
                .join(CaseState, CaseState.case_id == Referral.case_id)
                .where(*recent)
            )
        ).all()
    )
    states = await session.execute(select(CaseState.case_id, CaseState.snapshot).where(*recent))
    created = 0
    for n, (case_id, snapshot) in enumerate(states.all()):
        if n % 200 == 199:
            await asyncio.sleep(0)  # let consumers and requests in between
        if not snapshot:
            continue
        needed = policy.needed_for(
            map(Service, snapshot["needs"]), RiskLevel(snapshot["risk_level"])
        )
        if all((case_id, s.value) in referred for s in needed):
            continue
        case = ev.CaseSnapshot.model_validate(snapshot)
        created += len(await route_case(session, case=case, deps=deps, now=now))
    if created:
        log.warning("reconciler re-drove missing referrals", extra={"referrals_created": created})
    return created
