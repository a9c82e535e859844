"""Partners' answers, over NATS or HTTP: the FHIR Task state machine decides what they move."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.errors import ReferralNotHeld
from jejaring.referral.facts import Deps, log, transition
from jejaring.referral.models import Referral
from jejaring.referral.schemas import StatusIn
from jejaring.shared.enums import ReferralStatus


async def apply_reply(
    session: AsyncSession,
    *,
    referral: uuid.UUID,
    slug: str,
    reply: StatusIn,
    deps: Deps,
    now: dt.datetime,
) -> Referral:
    """A partner's answer, over NATS or HTTP: the FHIR state machine decides.

    Refuses: ReferralNotHeld (no such referral, or not this partner's: logged as a security
    event), IllegalTransition, ReasonRequired.
    """
    r = await session.get(Referral, referral, with_for_update=True)
    if r is None or r.partner_slug != slug:
        if r is not None:
            log.warning(
                "security event: a partner answered for a referral it does not hold",
                extra={"security": True, "partner": slug, "referral": str(referral)},
            )
        raise ReferralNotHeld()
    if not policy.partner_moves(ReferralStatus(r.status), reply.status, reason=reply.reason):
        return r  # the same answer again changes nothing
    await transition(
        session, r, reply.status, reason=reply.reason, note=reply.note, deps=deps, now=now
    )
    log.info(
        "referral answered",
        extra={"referral": str(r.id), "partner": slug, "status": reply.status.value},
    )
    return r
