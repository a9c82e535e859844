"""Partners' answers, over NATS or HTTP: the FHIR Task state machine decides what they move."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import policy
from jejaring.referral.facts import Deps, log, transition
from jejaring.referral.models import Referral
from jejaring.referral.schemas import StatusIn
from jejaring.shared.enums import ReferralStatus
from jejaring.shared.errors import api_error, not_found


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
    await transition(
        session, r, reply.status, reason=reply.reason, note=reply.note, deps=deps, now=now
    )
    log.info(
        "referral answered",
        extra={"referral": str(r.id), "partner": slug, "status": reply.status.value},
    )
    return r
