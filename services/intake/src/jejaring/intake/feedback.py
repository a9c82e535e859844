"""The survivor's feedback (issue 20): when a case closes, ask its victim, once, how the help
was, if she may be contacted. Notify sends the SMS and keeps the answer (notify/feedback.py).

Who is asked: the first victim (in the order recorded) who is an adult, marked safe to contact
and has a phone. A child is never asked: a child's phone is usually a guardian's, who may be
the alleged perpetrator (R5), and an SMS about "the help you received" tells whoever reads it
that the child was helped (R6). One victim per case: a case closes once, and one request is
one SMS and one score. What she is asked about: the partners whose referral of the case was
accepted (and went on: in progress, on hold, completed); with none, nobody is asked, because
the score would belong to no partner. A case closed as a duplicate asks nobody: the case it
duplicates asks (once) when it closes. Her phone travels sealed with the case's data key, so an
erased case's request can no longer be read by anyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.models import Case, ReferralView
from jejaring.shared import crypto
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import CaseOutcome, ReferralStatus
from jejaring.shared.messaging.outbox import Outbox

PURPOSE = ev.CaseFeedbackRequested.PHONE_PURPOSE  # the sealed phone's associated data
# A referral in one of these was accepted by its partner: the help she is asked about.
HELPED = (
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_PROGRESS,
    ReferralStatus.ON_HOLD,
    ReferralStatus.COMPLETED,
)


def who_to_ask(victims: list[dict[str, Any]]) -> str | None:
    """The phone of the first adult victim who is safe to contact and has one."""
    for victim in victims:
        if not victim.get("is_child") and victim.get("safe_to_contact") and victim.get("phone"):
            return str(victim["phone"])
    return None


async def partners_that_helped(session: AsyncSession, case_id: Any) -> tuple[str, ...]:
    """The slugs of the partners whose referral of the case was accepted, sorted."""
    rows = await session.scalars(
        select(ReferralView.partner_slug)
        .where(
            ReferralView.case_id == case_id,
            ReferralView.status.in_([s.value for s in HELPED]),
        )
        .distinct()
    )
    return tuple(sorted(rows.all()))


async def request_on_close(
    session: AsyncSession, case: Case, *, key: bytes, outbox: Outbox, now: dt.datetime
) -> bool:
    """Stage `case.v1.feedback.requested` for a case being closed, in its transaction; False
    when nobody is to be asked (see the module's rules)."""
    phone = who_to_ask(case.victims)
    if phone is None or case.outcome == CaseOutcome.DUPLICATE.value:
        return False
    partners = await partners_that_helped(session, case.id)
    if not partners:
        return False
    await outbox.add(
        session,
        ev.CaseFeedbackRequested(
            case_id=case.id,
            reference=case.reference,
            kelurahan_code=case.kelurahan_code,
            closed_at=now,
            phone_sealed=crypto.seal(key, phone.encode(), associated=crypto.aad(case.id, PURPOSE)),
            partner_slugs=partners,
        ),
        time=now,
    )
    return True
