"""Referral's audit trail: every partner and credential action (a partner added or
deactivated, its HTTP token issued, rotated or revoked, its NATS keys added or revoked) and
every answer a partner gives over the HTTP API is one append-only record: who (a person, or
which token), in what role, what, which partner, referral and case reference, when and from
where; never a note's or a reason's text. Hash-chained by `jejaring.shared.audit`, in
referral's own database; a record is written in the same transaction as the action, after the
rows the action locks, and an action that cannot be recorded is refused (AuditUnavailable).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.models import AuditHead, AuditRecord
from jejaring.shared.audit import SYSTEM_ID, SYSTEM_ROLE, Chain, Verdict
from jejaring.shared.contract.enums import ReferralStatus

CHAIN = Chain(AuditRecord, AuditHead)

# An API token acts, not a person: the role says whose (the admin's, or the partner's named in
# the record's `partner`).
TOKEN_ID = uuid.UUID(int=2)
ADMIN_TOKEN_ROLE = "admin_token"  # noqa: S105 (a role in the trail, not a secret)
PARTNER_TOKEN_ROLE = "partner_token"  # noqa: S105


class Action(StrEnum):
    """What a record says was done; an answer is `referral.<the status answered>`."""

    PARTNER_ADD = "partner.add"
    PARTNER_DEACTIVATE = "partner.deactivate"
    TOKEN_ISSUE = "partner.token.issue"  # noqa: S105 (an action code, not a secret)
    TOKEN_ROTATE = "partner.token.rotate"  # noqa: S105 (the previous one kept for the grace)
    TOKEN_REVOKE = "partner.token.revoke"  # noqa: S105 (a new one; the previous stops now)
    NATS_KEY_ADD = "partner.nats_key.add"
    NATS_KEY_REVOKE = "partner.nats_key.revoke"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"


def answered(status: ReferralStatus) -> str:
    """The action of a partner's answer: `referral.accepted`, `referral.in-progress`, …"""
    return f"referral.{status.value}"


@dataclass(frozen=True)
class Trail:
    """Who acts in this request and from where: what every record of the request shares."""

    user_id: uuid.UUID
    role: str
    client: str | None
    clock: Callable[[], dt.datetime]

    async def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        partner: str | None = None,
        case_reference: str | None = None,
        subject_id: uuid.UUID | None = None,
        commit: bool = False,
    ) -> None:
        """One record in the caller's transaction, committed with the action it records (a
        read passes `commit`: recorded before it is answered). AuditUnavailable if it cannot
        be written: the action is then refused (503)."""
        await CHAIN.record(
            session,
            commit=commit,
            at=self.clock(),
            user_id=self.user_id,
            role=self.role,
            action=str(action),
            partner=partner,
            case_reference=case_reference,
            subject_id=subject_id,
            client=self.client,
        )


def system_trail(clock: Callable[[], dt.datetime]) -> Trail:
    """Referral acting on its own (partners seeded from its file at start)."""
    return Trail(user_id=SYSTEM_ID, role=SYSTEM_ROLE, client=None, clock=clock)


async def verify(session: AsyncSession) -> Verdict:
    """Walk referral's chain to its head: intact, or the first record where it breaks."""
    return await CHAIN.verify(session)


async def page(
    session: AsyncSession,
    *,
    partner: str | None,
    user_id: uuid.UUID | None,
    case_reference: str | None,
    page: int,
    per_page: int,
) -> tuple[list[AuditRecord], int]:
    """Records about a partner, by a person and/or about a case, oldest first."""
    where: list[ColumnElement[bool]] = []
    if partner is not None:
        where.append(AuditRecord.partner == partner)
    if user_id is not None:
        where.append(AuditRecord.user_id == user_id)
    if case_reference is not None:
        where.append(AuditRecord.case_reference == case_reference)
    return await CHAIN.page(session, where=where, page=page, per_page=per_page)
