"""Partners' answers, over NATS or HTTP: the FHIR Task state machine decides what they move."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.errors import ReferralNotHeld
from jejaring.referral.facts import Deps, log, transition
from jejaring.referral.models import Referral
from jejaring.shared.contract.enums import AnswerReason, ReferralStatus
from jejaring.shared.logs import bind_case


async def apply_reply(
    session: AsyncSession,
    *,
    referral: uuid.UUID,
    slug: str,
    status: ReferralStatus,
    reason: str | None = None,
    reason_code: AnswerReason | None = None,
    note: str | None = None,
    deps: Deps,
    now: dt.datetime,
    by: str | None = None,
) -> Referral:
    """Partner `slug` answers `status` (with a reason, its code and a note) about one of its
    referrals; `by` is the person at the partner who gave the answer, recorded with it when
    known. A code without a reason: the code's Indonesian label is the reason.

    The same answer again changes nothing. Refuses: ReferralNotHeld (no such referral, or not
    this partner's: logged as a security event), IllegalTransition, ReasonRequired.
    """
    r = await session.get(Referral, referral, with_for_update=True)
    if r is None or r.partner_slug != slug:
        held = deps.security_log.allow(slug) if r is not None else None
        if held is not None:
            log.warning(
                "security event: a partner answered for a referral it does not hold",
                extra={
                    "security": True,
                    "partner": slug,
                    "referral": str(referral),
                    "more_since_last_line": held,
                },
            )
        raise ReferralNotHeld()
    bind_case(r.case_reference)  # a reply names the referral only
    if reason_code is not None and not reason:
        reason = reason_code.label("id")
    if not policy.partner_moves(ReferralStatus(r.status), status, reason=reason):
        return r
    r.answered_by = by
    await transition(
        session,
        r,
        status,
        reason=reason,
        reason_code=reason_code,
        note=note,
        deps=deps,
        now=now,
        by=by,
    )
    log.info(
        "referral answered",
        extra={"referral": str(r.id), "partner": slug, "status": status.value},
    )
    return r
