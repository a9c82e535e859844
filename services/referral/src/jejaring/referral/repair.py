"""The reconciler: referrals missing for a needed service, requests lost from partner streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import StreamState
from nats.js.errors import NotFoundError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy, retention
from jejaring.referral.facts import Deps, log
from jejaring.referral.models import CaseState, Partner, Referral, UnmetNeed
from jejaring.referral.routing import request_event, route_case
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import subjects
from jejaring.shared.contract.enums import ReferralStatus, RiskLevel, Service
from jejaring.shared.contract.envelope import NATS_MSG_ID, OutgoingMessage
from jejaring.shared.messaging.outbox import Seal
from jejaring.shared.messaging.tables import outbox

REPAIR_PACE = 50  # stream checks between short pauses
REDRIVE = ".redrive."  # a re-driven request's Nats-Msg-Id: <first ce-id>.redrive.<ms>


@dataclass
class Sweep:
    """Where the reconciler's walk through the open cases has got to (one per process).

    Each pass looks at the cases that hold an unmet need (a partner that joined since may take
    it) and at the next `size` open cases in id order, from where the last pass stopped; at
    the end it starts again. A pass is a bounded piece of work whatever the number of open
    cases (looking at every open case each minute was a latency spike that grew with every
    case), and every open case is still looked at once per (open cases / size) passes."""

    size: int = 500
    after: uuid.UUID | None = None


async def reconcile(
    session: AsyncSession,
    *,
    deps: Deps,
    now: dt.datetime,
    horizon: dt.timedelta = dt.timedelta(days=30),
    sweep: Sweep | None = None,
) -> int:
    """Re-drive open cases: any needed service without a referral gets one, with the same id
    routing would have given it. Returns how many referrals were created.

    Without `sweep`, looks at every open case updated within `horizon`; with one, at the
    cases with an unmet need and the sweep's next slice. Finds, with two queries and without
    building a snapshot object per case, the cases that lack a referral for a needed service,
    and routes only those.
    """
    recent = (CaseState.status == "open", CaseState.updated_at >= now - horizon)
    chosen = select(CaseState.case_id).where(*recent)
    if sweep is not None:
        ahead = chosen.order_by(CaseState.case_id).limit(sweep.size)
        if sweep.after is not None:
            ahead = ahead.where(CaseState.case_id > sweep.after)
        ids = list((await session.execute(ahead)).scalars())
        sweep.after = ids[-1] if len(ids) == sweep.size else None  # at the end: from the start
        unmet = select(UnmetNeed.case_id).distinct()
        ids += (await session.execute(chosen.where(CaseState.case_id.in_(unmet)))).scalars()
        if not ids:
            return 0
        chosen = select(CaseState.case_id).where(CaseState.case_id.in_(ids))
    referred = set(
        (
            await session.execute(
                select(Referral.case_id, Referral.service).where(Referral.case_id.in_(chosen))
            )
        ).all()
    )
    states = await session.execute(
        select(CaseState.case_id, CaseState.snapshot).where(CaseState.case_id.in_(chosen))
    )
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
    acknowledged: what the stream must still hold unless the partner has fetched it."""
    rows = await session.execute(
        select(Referral.id, Referral.partner_slug, Referral.request_seq)
        .where(Referral.status == ReferralStatus.REQUESTED.value, Referral.request_seq.is_not(None))
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
    ce_id = r.request_msg_id.split(REDRIVE)[0]  # the first request's id (routing.py)
    msg_id = f"{ce_id}{REDRIVE}{int(now.timestamp() * 1000)}"
    row = (
        await session.execute(select(outbox).where(outbox.c.msg_id == r.request_msg_id))
    ).one_or_none()
    seal: Seal | None = None
    if row is not None:
        message = OutgoingMessage(subject=row.subject, headers=row.headers, body=row.body)
    else:  # the outbox row is pruned a day after sending: the request is made again
        state = await session.get(CaseState, r.case_id)
        partner = await session.get(Partner, r.partner_slug)
        if state is None or state.status != "open" or not state.snapshot or partner is None:
            return
        clear, seal = deps.keys.opened(ev.CaseSnapshot.model_validate(state.snapshot))
        message = deps.outbox.encode(
            request_event(r, case=clear, partner=partner, deps=deps), event_id=ce_id, time=now
        )
    await deps.outbox.add_message(
        session,
        OutgoingMessage(
            subject=message.subject,
            headers={**message.headers, NATS_MSG_ID: msg_id},
            body=message.body,
        ),
        seal=seal,  # None for a copied row: a sealed one is copied sealed
    )
    r.request_msg_id = msg_id
    r.request_seq = None  # known again when JetStream acknowledges the new message
    log.warning(
        "referral request re-driven: missing from the partner stream",
        extra={"referral": str(r.id), "partner": r.partner_slug},
    )


async def stream_states(js: JetStreamContext, slugs: set[str]) -> dict[str, StreamState | None]:
    """Each partner stream's first and last sequence and how many messages between them are
    gone (None: no stream). One question per partner tells about all its requests at once: a
    request between the first and the last is there unless the stream has gaps."""
    out: dict[str, StreamState | None] = {}
    for slug in slugs:
        try:
            out[slug] = (await js.stream_info(subjects.agency_stream(slug))).state
        except NotFoundError:
            out[slug] = None
    return out


async def repair_streams(
    session: AsyncSession,
    *,
    js: JetStreamContext,
    deps: Deps,
    clock: Callable[[], dt.datetime],
) -> int:
    """The reconciler's second half: a request JetStream acknowledged, that the partner has not
    fetched and that the stream no longer holds (a broker that lost an acknowledged write, or
    one past the stream's max age) is published again. One the partner has fetched is gone
    by design (interest retention: its acknowledgement removed it): a missing request at or
    below the partner consumer's delivered sequence is never re-published. Opens its own
    transactions: none is open while it asks JetStream (that held SQLite's write lock for a
    thousand round trips)."""
    async with session.begin():
        published = await published_requests(session)
    # one consumer_info per partner before the checks, one after for those found missing
    delivered = await retention.delivered_seqs(js, {slug for _, slug, _ in published})
    unfetched = [p for p in published if not retention.fetched(p[2], delivered[p[1]])]
    # (a partner with no consumer has nothing to restore to: `fetched` says yes)
    streams = await stream_states(js, {slug for _, slug, _ in unfetched})
    gone = []
    asked = 0
    for referral, slug, seq in unfetched:  # no transaction open here
        state = streams[slug]
        if state is None or seq < state.first_seq or seq > state.last_seq:
            gone.append((referral, slug, seq))  # the stream no longer (or never) held it
            continue
        if not state.num_deleted:
            continue  # no gap between the first and last message: the stream holds it
        asked += 1
        if asked % REPAIR_PACE == 0:
            await asyncio.sleep(0.05)  # a thousand checks at once were a latency spike
        try:
            await js.get_msg(subjects.agency_stream(slug), seq)
        except NotFoundError:
            gone.append((referral, slug, seq))
    # fetched and acknowledged between the two reads: delivered, not lost
    after = await retention.delivered_seqs(js, {slug for _, slug, _ in gone})
    missing = [referral for referral, slug, seq in gone if not retention.fetched(seq, after[slug])]
    if missing:

        async def redrive(s: AsyncSession) -> None:
            for referral in missing:
                await redrive_request(s, referral=referral, deps=deps, now=clock())

        # a request made again reads the case's personal fields: keys fetched outside it
        await deps.keys.run(session, redrive)
    return len(missing)
