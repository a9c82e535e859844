"""Retention (issue 16, item 3): what referral keeps of a closed case, and requests taken off a
partner's stream when the partner has not fetched them.

A request's stream sequence is recorded as JetStream acknowledges it (`record_request_seqs`,
the outbox relay's hook). A cancellation of a request (consent withdrawn, case closed, any
cancellation while `requested`) is staged with `stage_forget` in the transaction that cancels;
`forget_unfetched` then, with no transaction open while it talks to NATS, deletes each staged
request the partner's durable consumer has not delivered, and looks at what was delivered
again: one delivered in between gets the staged cancellation, one that was not is never heard
of by the partner. docs/decisions.md ("Retention").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.models import Referral, RequestForget
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import OutgoingMessage
from jejaring.shared.messaging.tables import outbox

if TYPE_CHECKING:  # facts stages forgets through this module
    from jejaring.referral.facts import Deps

log = logging.getLogger("jejaring.referral.service")

# --- what the loop keeps of a closed case --------------------------------------------------

# Top-level fields of a case snapshot kept after close: codes, dates, the officer (staff, for
# answers that still arrive) and the consent's scope. Everything else goes: the description,
# the legal aid proof's number, the override's free text, and of each victim all but what
# reports count (sex, age group, child or not).
_CASE_KEEPS = (
    "case_id",
    "reference",
    "version",
    "kelurahan_code",
    "reported_at",
    "incident_date",
    "place",
    "violence_forms",
    "risk_level",
    "perpetrator",
    "needs",
    "officer",
)
_VICTIM_KEEPS = ("sex", "age_group", "is_child")
_CONSENT_KEEPS = ("given_by", "scope", "recorded_at", "recorded_by")


def loop_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The one rule of what referral keeps of a case once it is closed: no victim's name,
    phone, address, birth date or disability, no description, no proof number."""
    kept = {k: snapshot[k] for k in _CASE_KEEPS if k in snapshot}
    if "victims" in snapshot:
        kept["victims"] = [{k: v[k] for k in _VICTIM_KEEPS if k in v} for v in snapshot["victims"]]
    if snapshot.get("consent"):
        kept["consent"] = {
            k: snapshot["consent"][k] for k in _CONSENT_KEEPS if k in snapshot["consent"]
        }
    if snapshot.get("legal_aid_proof"):
        kept["legal_aid_proof"] = {"kind": snapshot["legal_aid_proof"]["kind"]}
    return kept


# --- where each request landed ------------------------------------------------------------


async def record_request_seqs(session: AsyncSession, sent: Sequence[tuple[str, int]]) -> None:
    """The outbox relay's hook (in the transaction marking rows sent): a request's stream
    sequence, kept on its referral for as long as the referral (the outbox row goes a day
    after sending). Rows that are not a referral's latest request match nothing."""
    if sent:
        table = cast(Table, Referral.__table__)  # Core executemany: the ORM's wants primary keys
        await session.execute(
            update(table)
            .where(table.c.request_msg_id == bindparam("msg_id"))
            .values(request_seq=bindparam("seq")),
            [{"msg_id": msg_id, "seq": seq} for msg_id, seq in sent],
        )


# --- taking requests off a partner's stream -----------------------------------------------


async def stage_forget(
    session: AsyncSession,
    r: Referral,
    *,
    cancellation: OutgoingMessage | None,
    now: dt.datetime,
) -> None:
    """Take `r`'s request off its partner's stream if the partner has not fetched it; if it
    has, publish `cancellation` (None: tell the partner nothing). Runs after the caller's
    commit (`forget_unfetched`); a cancellation already staged is kept."""
    staged = await session.get(RequestForget, r.id)
    if staged is None:
        staged = RequestForget(referral_id=r.id, partner_slug=r.partner_slug, staged_at=now)
        session.add(staged)
    if cancellation is not None:
        staged.subject = cancellation.subject
        staged.headers = cancellation.headers
        staged.body = cancellation.body


async def forget_case(session: AsyncSession, *, case_id: uuid.UUID, now: dt.datetime) -> int:
    """Take every request of `case_id` its partner has not fetched off the partner streams
    (erasure). Only for referrals that will not be re-published: the caller cancels those
    still `requested` (stream repair re-publishes an open request the stream lost). Returns
    how many were staged."""
    rows = await session.scalars(
        select(Referral).where(Referral.case_id == case_id, Referral.request_msg_id.is_not(None))
    )
    staged = list(rows.all())
    for r in staged:
        await stage_forget(session, r, cancellation=None, now=now)
    return len(staged)


async def delivered_seqs(js: JetStreamContext, slugs: set[str]) -> dict[str, int | None]:
    """The highest stream sequence each partner's durable consumer has delivered (None: no
    consumer, nothing can be told): everything at or below it the partner has fetched."""
    out: dict[str, int | None] = {}
    for slug in slugs:
        try:
            info = await js.consumer_info(subjects.agency_stream(slug), subjects.check_slug(slug))
        except NotFoundError:
            out[slug] = None
            continue
        out[slug] = info.delivered.stream_seq if info.delivered else 0
    return out


def fetched(seq: int, delivered: int | None) -> bool:
    """Whether the partner has had the message at `seq` (no consumer: say yes, nothing can
    be told and nothing may be lost)."""
    return delivered is None or seq <= delivered


async def _staged(session: AsyncSession) -> list[tuple[uuid.UUID, str, int | None, bool]]:
    """(referral, partner, request sequence, the request or an update to that partner still
    waits in the outbox)."""
    rows = await session.execute(
        select(
            RequestForget.referral_id,
            RequestForget.partner_slug,
            Referral.request_seq,
            outbox.c.sent_at.is_(None) & outbox.c.id.is_not(None),
        )
        .join(Referral, Referral.id == RequestForget.referral_id, isouter=True)
        .join(outbox, outbox.c.msg_id == Referral.request_msg_id, isouter=True)
        .order_by(RequestForget.staged_at)
        .limit(500)
    )
    staged = rows.all()
    if not staged:
        return []  # the usual case, every second: one query
    # an update of the request may still wait too: it is published after the request, and
    # must be on the stream when the request is taken off (so it is taken off with it)
    updating = set(
        (
            await session.scalars(
                select(outbox.c.subject)
                .where(outbox.c.sent_at.is_(None), outbox.c.subject.like(_UPDATES))
                .distinct()
            )
        ).all()
    )
    return [
        (rid, slug, seq, bool(waiting) or _updates(slug) in updating)
        for rid, slug, seq, waiting in staged
    ]


_UPDATES = "referral.v1.to.%.updated"  # LIKE: every partner's `subjects.to_agency(slug, "updated")`


def _updates(slug: str) -> str:
    return subjects.to_agency(slug, "updated")


async def _updates_after(js: JetStreamContext, *, slug: str, rid: uuid.UUID, seq: int) -> list[int]:
    """The sequences of `rid`'s updates on its partner's stream after its request at `seq`
    (each carries the partner's view of the case too)."""
    found: list[int] = []
    start, wanted = seq + 1, str(rid)
    while True:
        try:
            msg = await js.get_msg(
                subjects.agency_stream(slug), start, subject=_updates(slug), next=True
            )
        except NotFoundError:
            return found
        if (msg.headers or {}).get("ce-subject") == wanted and msg.seq is not None:
            found.append(msg.seq)
        start = (msg.seq or start) + 1


async def forget_unfetched(session: AsyncSession, *, js: JetStreamContext, deps: Deps) -> int:
    """Settle staged forgets: delete the requests partners have not fetched; publish the
    cancellation of those they have. Opens its own short transactions: none is open while it
    asks NATS. Returns how many requests were taken off a stream."""
    async with session.begin():
        staged = await _staged(session)
    # A request JetStream has not acknowledged yet waits: once the relay publishes it, its
    # sequence is known and the next run settles it (the partner may have fetched it by then).
    ready = [(rid, slug, seq) for rid, slug, seq, waiting in staged if not waiting]
    if not ready:
        return 0
    before = await delivered_seqs(js, {slug for _, slug, _ in ready})
    outcome: dict[uuid.UUID, bool] = {}
    deleted: list[tuple[uuid.UUID, str, int]] = []
    for rid, slug, seq in ready:
        if seq is None or fetched(seq, before[slug]):
            # no sequence (published before sequences were recorded): it may have been
            # fetched, so it gets its cancellation
            outcome[rid] = True
            continue
        # Its updates first, the latest first, then the request: a partner's consumer delivers
        # in stream order, so it never gets an update without the request before it. One gone
        # already (max age, or lost) the partner has not had either.
        later = await _updates_after(js, slug=slug, rid=rid, seq=seq)
        for n in [*sorted(later, reverse=True), seq]:
            with contextlib.suppress(NotFoundError):
                await js.delete_msg(subjects.agency_stream(slug), n)
        deleted.append((rid, slug, seq))
    # Deleted, it can no longer be delivered: what was delivered now was delivered before.
    after = await delivered_seqs(js, {slug for _, slug, _ in deleted})
    for rid, slug, seq in deleted:
        outcome[rid] = fetched(seq, after[slug])
    async with session.begin():
        for rid, was_fetched in outcome.items():
            row = await session.get(RequestForget, rid, with_for_update=True)
            if row is None:
                continue  # settled by another run
            if was_fetched and row.subject and row.headers is not None and row.body is not None:
                await deps.outbox.add_message(
                    session,
                    OutgoingMessage(subject=row.subject, headers=row.headers, body=row.body),
                )
            await session.delete(row)
    forgotten = sum(not outcome[rid] for rid, _, _ in deleted)
    if forgotten:
        log.info(
            "requests taken off partner streams before fetching", extra={"requests": forgotten}
        )
    return forgotten
