"""The coordinator's board: what needs someone to act now across the kecamatan, from intake's
own cases and its read model of referrals, one query per section, oldest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.auth import Principal, require_role
from jejaring.intake.models import Case, ReferralView, UnmetNeed
from jejaring.shared.web.identity import PersonRole

# A referral still open at its partner (FHIR Task statuses that are not final).
OPEN = ("requested", "accepted", "in-progress", "on-hold")


@dataclass
class Board:
    """Each section's items, oldest first."""

    late: list[tuple[Case, ReferralView]] = field(default_factory=list)
    unmet: list[tuple[Case, UnmetNeed]] = field(default_factory=list)
    eligibility_pending: list[tuple[Case, ReferralView]] = field(default_factory=list)
    high_risk_unaccepted: list[tuple[Case, list[ReferralView]]] = field(default_factory=list)


def _late(view: ReferralView, now: dt.datetime) -> bool:
    marked = {"overdue", "escalated"} & set(view.business_status or [])
    return bool(marked) or (view.accept_by is not None and view.accept_by < now)


async def board(
    session: AsyncSession, *, by: Principal, now: dt.datetime, kelurahan_code: str | None = None
) -> Board:
    """The coordinator's board (the coordinator only): referrals not accepted in time (overdue,
    escalated, or past their deadline before referral marks them), needs no partner could take,
    legal aid waiting for proof, and high-risk cases with a referral not yet accepted. Only
    open cases."""
    require_role(by, PersonRole.COORDINATOR)

    def of_open_cases(
        query: Select[tuple[Case, ReferralView]],
    ) -> Select[tuple[Case, ReferralView]]:
        query = query.join(Case, Case.id == ReferralView.case_id).where(Case.status == "open")
        if kelurahan_code:
            query = query.where(Case.kelurahan_code == kelurahan_code)
        return query

    found = Board()
    requested = await session.execute(
        of_open_cases(select(Case, ReferralView).where(ReferralView.status == "requested"))
    )
    late = [(c, v) for c, v in requested.tuples() if _late(v, now)]
    found.late = sorted(late, key=lambda cv: (cv[1].accept_by or now, cv[0].reported_at))

    unmet_query = (
        select(Case, UnmetNeed)
        .join(Case, Case.id == UnmetNeed.case_id)
        .where(Case.status == "open")
        .order_by(UnmetNeed.occurred_at, Case.reported_at)
    )
    if kelurahan_code:
        unmet_query = unmet_query.where(Case.kelurahan_code == kelurahan_code)
    found.unmet = list((await session.execute(unmet_query)).tuples())

    still_open = await session.execute(
        of_open_cases(select(Case, ReferralView).where(ReferralView.status.in_(OPEN))).order_by(
            Case.reported_at, ReferralView.service
        )
    )
    found.eligibility_pending = [
        (c, v) for c, v in still_open.tuples() if "eligibility-pending" in (v.business_status or [])
    ]

    high = await session.execute(
        of_open_cases(
            select(Case, ReferralView).where(
                ReferralView.status == "requested", Case.risk_level == "high"
            )
        ).order_by(Case.reported_at, ReferralView.service)
    )
    grouped: dict[object, tuple[Case, list[ReferralView]]] = {}
    for c, v in high.tuples():
        grouped.setdefault(c.id, (c, []))[1].append(v)
    found.high_risk_unaccepted = list(grouped.values())
    return found
