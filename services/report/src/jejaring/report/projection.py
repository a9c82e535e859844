"""The read model from the events: one function per event type, each idempotent on its own
(the consumer's inbox already drops a repeated message id), and tolerant of order where the
streams do not promise it (two consumers, redeliveries): a case is replaced only by a newer
version, a referral's status times keep the earliest time seen and its current status the
highest `sequence`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.report.models import ReportCase, ReportReferral, ReportUnmetNeed, ReportVictim
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import (
    CaseClosed,
    CaseErased,
    CaseMerged,
    CaseSnapshot,
    Event,
    ReferralEscalated,
    ReferralNeedUnmet,
    ReferralOverdue,
    ReferralStatusChanged,
)
from jejaring.shared.db import upsert

ReferralFact = ReferralStatusChanged | ReferralOverdue | ReferralEscalated

# The column that keeps the first time a referral reached a status; in-progress and on-hold
# are not counted, only followed as the current status.
STATUS_TIME = {
    ReferralStatus.REQUESTED: "requested_at",
    ReferralStatus.ACCEPTED: "accepted_at",
    ReferralStatus.REJECTED: "rejected_at",
    ReferralStatus.COMPLETED: "completed_at",
    ReferralStatus.FAILED: "failed_at",
    ReferralStatus.CANCELLED: "cancelled_at",
}


async def apply(session: AsyncSession, envelope: Envelope) -> None:
    """Project one event into the read model; a type it does not count is ignored."""
    event = envelope.data
    for kind, project in _PROJECTIONS:
        if isinstance(event, kind):
            await project(session, event)
            return


# What a case's snapshot sets: the rest (closed, outcome, merged, erased) is other events'.
_SNAPSHOT_COLUMNS = (
    "reference",
    "kelurahan_code",
    "reported_at",
    "incident_date",
    "place",
    "risk_level",
    "violence_forms",
    "needs",
    "perpetrator_relationship",
    "perpetrator_sex",
    "perpetrator_is_child",
    "version",
)
_CASE_SNAPSHOT = upsert(
    cast(Table, ReportCase.__table__),
    key="id",
    assignments={column: f"excluded.{column}" for column in _SNAPSHOT_COLUMNS},
    where="report_case.version < excluded.version",
).returning(ReportCase.id)
_VICTIMS = insert(ReportVictim)


async def _snapshot(session: AsyncSession, event: CaseSnapshot) -> None:
    """CaseCreated and CaseUpdated: the case as of `version`, unless a newer one is here."""
    perpetrator = event.perpetrator
    written = await session.execute(
        _CASE_SNAPSHOT,
        {
            "id": event.case_id,
            "erased": False,
            "reference": event.reference,
            "kelurahan_code": event.kelurahan_code,
            "reported_at": event.reported_at,
            "incident_date": event.incident_date,
            "place": event.place.value,
            "risk_level": event.risk_level.value,
            "violence_forms": [form.value for form in event.violence_forms],
            "needs": [need.value for need in event.needs],
            "perpetrator_relationship": perpetrator.relationship.value if perpetrator else None,
            "perpetrator_sex": perpetrator.sex.value if perpetrator and perpetrator.sex else None,
            "perpetrator_is_child": perpetrator.is_child if perpetrator else None,
            "version": event.version,
        },
    )
    if written.first() is None:  # a newer version is here
        return
    await session.execute(delete(ReportVictim).where(ReportVictim.case_id == event.case_id))
    if event.victims:
        await session.execute(
            _VICTIMS,
            [
                {
                    "case_id": event.case_id,
                    "number": number,
                    "sex": victim.sex.value,
                    "age_group": victim.age_group.value,
                    "is_child": victim.is_child,
                }
                for number, victim in enumerate(event.victims, start=1)
            ],
        )


async def _closed(session: AsyncSession, event: CaseClosed) -> None:
    if case := await session.get(ReportCase, event.case_id):
        case.closed_at = event.closed_at
        case.outcome = event.outcome.value


async def _erased(session: AsyncSession, event: CaseErased) -> None:
    """Still counted in the report's tables; never a row of the case-level export."""
    if case := await session.get(ReportCase, event.case_id):
        case.erased = True


async def _merged(session: AsyncSession, event: CaseMerged) -> None:
    """The duplicate no longer counts as a case; its referrals and unmet needs count as the
    kept case's (monthly.py follows `merged_into`)."""
    if case := await session.get(ReportCase, event.case_id):
        case.merged_into = event.into_case_id


# The first-time columns, each kept at the earliest time any event gave it.
_FIRST_TIMES = (*STATUS_TIME.values(), "overdue_at", "escalated_at")


def _earlier(column: str) -> str:
    """The event gives `column` a time before the stored one (or the first)."""
    return (
        f"excluded.{column} IS NOT NULL AND (report_referral.{column} IS NULL "
        f"OR excluded.{column} < report_referral.{column})"
    )


def _earliest(column: str) -> str:
    return f"CASE WHEN {_earlier(column)} THEN excluded.{column} ELSE report_referral.{column} END"


_NEWER = "excluded.last_sequence > report_referral.last_sequence"


def _if_newer(column: str) -> str:
    return f"CASE WHEN {_NEWER} THEN excluded.{column} ELSE report_referral.{column} END"


# One statement a referral event: the row is created by whichever of its events comes first,
# its current status moves on only with a later `sequence`, and each first time (and the
# reason of the first rejection) keeps the earliest time seen.
_REFERRAL_FACT = upsert(
    cast(Table, ReportReferral.__table__),
    key="id",
    assignments={
        **{
            column: _if_newer(column)
            for column in (
                "status",
                "case_id",
                "partner_slug",
                "service",
                "kelurahan_code",
                "last_sequence",
            )
        },
        "partner_name": f"CASE WHEN {_NEWER} "
        "THEN coalesce(excluded.partner_name, report_referral.partner_name) "
        "ELSE coalesce(report_referral.partner_name, excluded.partner_name) END",
        **{column: _earliest(column) for column in _FIRST_TIMES},
        "reason_code": f"CASE WHEN {_earlier('rejected_at')} "
        "THEN excluded.reason_code ELSE report_referral.reason_code END",
    },
)


async def _referral_fact(
    session: AsyncSession, event: ReferralFact, column: str | None, reason_code: str | None = None
) -> None:
    """The referral's row as of `event`, which gives `column` its time (if any) and, when it
    is a rejection, `reason_code`."""
    times: dict[str, Any] = dict.fromkeys(_FIRST_TIMES)
    if column is not None:
        times[column] = event.occurred_at
    await session.execute(
        _REFERRAL_FACT,
        times
        | {
            "reason_code": reason_code,
            "id": event.referral_id,
            "case_id": event.case_id,
            "partner_slug": event.partner_slug,
            "partner_name": event.partner_name,
            "service": event.service.value,
            "kelurahan_code": event.kelurahan_code,
            "status": event.status.value,
            "last_sequence": event.sequence,
        },
    )


async def _status_changed(session: AsyncSession, event: ReferralStatusChanged) -> None:
    rejected = event.status is ReferralStatus.REJECTED
    reason = event.reason_code.value if rejected and event.reason_code else None
    await _referral_fact(session, event, STATUS_TIME.get(event.status), reason)


async def _overdue(session: AsyncSession, event: ReferralOverdue) -> None:
    await _referral_fact(session, event, "overdue_at")


async def _escalated(session: AsyncSession, event: ReferralEscalated) -> None:
    await _referral_fact(session, event, "escalated_at")


async def _need_unmet(session: AsyncSession, event: ReferralNeedUnmet) -> None:
    """Once per case and service: the first time it was found unmet."""
    need = await session.get(ReportUnmetNeed, (event.case_id, event.service.value))
    if need is None:
        session.add(
            ReportUnmetNeed(
                case_id=event.case_id,
                service=event.service.value,
                kelurahan_code=event.kelurahan_code,
                occurred_at=event.occurred_at,
            )
        )
        await session.flush()
    elif event.occurred_at < need.occurred_at:
        need.occurred_at = event.occurred_at


Projection = Callable[[AsyncSession, Any], Awaitable[None]]

# CaseCreated and CaseUpdated are both a CaseSnapshot; ReferralOverdue and ReferralEscalated are
# not ReferralStatusChanged. PartnerDeactivated and the case-work events count nothing.
_PROJECTIONS: tuple[tuple[type[Event] | type[CaseSnapshot], Projection], ...] = (
    (CaseSnapshot, _snapshot),
    (CaseClosed, _closed),
    (CaseErased, _erased),
    (CaseMerged, _merged),
    (ReferralStatusChanged, _status_changed),
    (ReferralOverdue, _overdue),
    (ReferralEscalated, _escalated),
    (ReferralNeedUnmet, _need_unmet),
)
