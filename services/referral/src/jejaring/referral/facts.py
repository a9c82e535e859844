"""What every referral event carries, and a referral's status change with the events it stages."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral import retention
from jejaring.referral.models import CaseState, Partner, Referral
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import AnswerReason, ReferralStatus
from jejaring.shared.logs import Sparse
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.region import Region

# Referral's business modules all log under the one name their records have always carried.
log = logging.getLogger("jejaring.referral.service")


@dataclass(frozen=True)
class Deps:
    """What the business logic needs besides a session."""

    outbox: Outbox
    region: Region
    # cases' data keys, fetched before a transaction (casekeys.py)
    keys: CaseKeys = field(default_factory=CaseKeys)
    # security events a partner's system can cause at full speed: a line a second per partner
    security_log: Sparse = field(default_factory=Sparse)


async def fact_fields(session: AsyncSession, r: Referral, now: dt.datetime) -> dict[str, Any]:
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
        "partner_kind": partner.kind if partner else None,
        "partner_contacts": tuple(
            ev.Contact.model_validate(c) for c in (partner.contacts if partner else [])
        ),
        "officer": ev.Contact.model_validate(officer) if officer else None,
    }


async def transition(
    session: AsyncSession,
    r: Referral,
    new: ReferralStatus,
    *,
    reason: str | None,
    note: str | None,
    deps: Deps,
    now: dt.datetime,
    by: str | None = None,
    reason_code: AnswerReason | None = None,
) -> None:
    """Move `r` to `new` (the caller has checked the move) and stage what it tells: the status
    change for everyone (with `by`, the person who answered, when one did, and the reason's
    code when it gave one), and the cancellation for the partner."""
    previous = r.status
    r.status = new.value
    r.sequence += 1
    r.updated_at = now
    r.reason = reason
    r.reason_code = reason_code.value if reason_code is not None else None
    r.note = note
    await deps.outbox.add(
        session,
        ev.ReferralStatusChanged(
            **await fact_fields(session, r, now),
            previous_status=previous,
            reason=reason,
            reason_code=reason_code,
            note=note,
            by=by,
        ),
        time=now,
    )
    if new == ReferralStatus.CANCELLED:
        cancelled = ev.ReferralCancelled(
            referral_id=r.id,
            partner_slug=r.partner_slug,
            case_reference=r.case_reference,
            reason=reason or "cancelled",
            cancelled_at=now,
        )
        if previous == ReferralStatus.REQUESTED.value and r.request_msg_id is not None:
            # the partner may not have fetched the request: it is taken off its stream, and
            # the cancellation goes out only if the partner has it (retention.py)
            message = deps.outbox.encode(cancelled, time=now)
            await retention.stage_forget(session, r, cancellation=message, now=now)
        else:
            await deps.outbox.add(session, cancelled, time=now)
