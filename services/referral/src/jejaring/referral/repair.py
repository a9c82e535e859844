"""The reconciler: referrals missing for a needed service, requests lost from partner streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.facts import Deps, log
from jejaring.referral.models import CaseState, Referral
from jejaring.referral.routing import route_case
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import subjects
from jejaring.shared.contract.enums import ReferralStatus, RiskLevel, Service
from jejaring.shared.contract.envelope import NATS_MSG_ID, OutgoingMessage
from jejaring.shared.messaging.tables import outbox

REPAIR_PACE = 50  # stream checks between short pauses


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


async def repair_streams(
    session: AsyncSession,
    *,
    js: JetStreamContext,
    deps: Deps,
    clock: Callable[[], dt.datetime],
) -> int:
    """The reconciler's second half: a request JetStream acknowledged but no longer holds
    (a broker that lost an acknowledged write) is published again. Opens its own transactions:
    none is open while it asks JetStream (that held SQLite's write lock for a thousand round
    trips)."""
    async with session.begin():
        published = await published_requests(session)
    missing = []
    for n, (referral, slug, seq) in enumerate(published):  # no transaction open here
        if n % REPAIR_PACE == REPAIR_PACE - 1:
            await asyncio.sleep(0.05)  # a thousand checks at once were a latency spike
        try:
            await js.get_msg(subjects.agency_stream(slug), seq)
        except NotFoundError:
            missing.append(referral)
    if missing:
        async with session.begin():
            for referral in missing:
                await redrive_request(session, referral=referral, deps=deps, now=clock())
    return len(missing)
