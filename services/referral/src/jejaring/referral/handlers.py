"""Referral's event handlers: thin, they validate and call the service layer. A refusal from it
(`jejaring.shared.refusals`) goes to the DLQ through the shared consumer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.cases import close_case, erase_case, merge_case, record_case
from jejaring.referral.facts import Deps
from jejaring.referral.replies import apply_reply
from jejaring.referral.schemas import StatusIn
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import (
    CASE_WORK_EVENTS,
    CaseClosed,
    CaseCreated,
    CaseErased,
    CaseMerged,
    CaseUpdated,
    PartnerReplied,
)
from jejaring.shared.messaging.consumer import Handler, PoisonMessage


def case_handler(deps: Deps, clock: Callable[[], dt.datetime]) -> Handler:
    async def on_case_event(session: AsyncSession, envelope: Envelope) -> None:
        """case.v1.* -> routing (created, updated), cancellation (closed, erased), or the
        referrals moved to the case kept (merged). A sealed
        case's key was fetched before the transaction (`CaseKeys.prepare`)."""
        data = envelope.data
        if isinstance(data, CaseCreated | CaseUpdated):
            await record_case(session, case=data, deps=deps, now=clock())
        elif isinstance(data, CaseClosed):
            await close_case(session, closed=data, deps=deps, now=clock())
        elif isinstance(data, CaseErased):
            await erase_case(session, erased=data, deps=deps, now=clock())
        elif isinstance(data, CaseMerged):
            await merge_case(session, merged=data, deps=deps, now=clock())
        elif isinstance(data, CASE_WORK_EVENTS):
            return  # reminders and feedback are notify's; referral has nothing to do
        else:
            raise PoisonMessage(f"unexpected event type {envelope.type} on the CASES stream")

    return on_case_event


def reply_handler(deps: Deps, clock: Callable[[], dt.datetime]) -> Handler:
    async def on_reply(session: AsyncSession, envelope: Envelope) -> None:
        """referral.v1.from.<slug>.<status> -> the referral's next status, or the DLQ."""
        reply = envelope.data
        if not isinstance(reply, PartnerReplied):
            raise PoisonMessage(f"unexpected event type {envelope.type} on the REPLIES stream")
        if reply.nats_subject() != envelope.nats_subject:
            raise PoisonMessage(
                f"subject {envelope.nats_subject} does not match the reply's partner and status"
            )
        # Parsed as an answer over HTTP is (whitespace stripped): one shape for both ways in.
        answer = StatusIn(
            status=reply.status,
            reason=reply.reason,
            reason_code=reply.reason_code,
            note=reply.note,
        )
        await apply_reply(
            session,
            referral=reply.referral_id,
            slug=reply.partner_slug,
            status=answer.status,
            reason=answer.reason,
            reason_code=answer.reason_code,
            note=answer.note,
            deps=deps,
            now=clock(),
            by=reply.by,
        )

    return on_reply
