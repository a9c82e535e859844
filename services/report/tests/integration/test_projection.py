"""The read model from events in any order, on SQLite and PostgreSQL. A referral's current
status is the one of its highest sequence, each first time is the earliest seen, the reason of
a rejection is the first rejection's, and the partner's name is kept. A case is its newest
version, with that version's victims, and keeps what other events said of it."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.report import projection
from jejaring.report.app import MIGRATIONS
from jejaring.report.models import ReportCase, ReportReferral, ReportVictim
from jejaring.shared.contract.enums import (
    AgeGroup,
    AnswerReason,
    CaseOutcome,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    Priority,
    ReferralStatus,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import (
    CaseClosed,
    CaseCreated,
    CaseUpdated,
    Consent,
    Contact,
    Event,
    Perpetrator,
    ReferralEscalated,
    ReferralOverdue,
    ReferralStatusChanged,
    Victim,
)
from jejaring.testing import migrated

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
REFERRAL = uuid.uuid4()
CASE = uuid.uuid4()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(database_url, MIGRATIONS) as sessions:
        yield sessions


def fact(
    kind: type[Event], status: ReferralStatus, sequence: int, minutes: int, **more: Any
) -> Event:
    fields: dict[str, Any] = dict(
        referral_id=REFERRAL,
        case_id=CASE,
        case_reference="PPA-2026-00001",
        partner_slug="polres-ppa",
        partner_name="Unit PPA Polresta Balikpapan",
        service=Service.LAW_ENFORCEMENT,
        kelurahan_code="64.71.05.1001",
        risk_level=RiskLevel.HIGH,
        priority=Priority.URGENT,
    )
    at = T0 + dt.timedelta(minutes=minutes)
    return kind(**(fields | more), status=status, sequence=sequence, occurred_at=at)


async def apply_all(
    sessions: async_sessionmaker[AsyncSession], events: list[Event], *, together: bool
) -> None:
    """Apply `events` in their order, in one transaction or each in its own."""
    envelopes = [Envelope(data=e, id=str(uuid.uuid4()), source="test", time=T0) for e in events]
    if together:
        async with sessions() as session, session.begin():
            for envelope in envelopes:
                await projection.apply(session, envelope)
    else:
        for envelope in envelopes:
            async with sessions() as session, session.begin():
                await projection.apply(session, envelope)


async def project(
    sessions: async_sessionmaker[AsyncSession], events: list[Event], *, together: bool
) -> ReportReferral:
    """Apply `events` in their order, in one transaction or each in its own; the row after."""
    await apply_all(sessions, events, together=together)
    async with sessions() as session:
        row = await session.get(ReportReferral, events[0].referral_id)  # type: ignore[attr-defined]
    assert row is not None
    return row


REJECTED = AnswerReason.NO_CAPACITY  # the first rejection's reason
STORY = [
    fact(ReferralStatusChanged, ReferralStatus.REQUESTED, 1, 0),
    fact(ReferralOverdue, ReferralStatus.REQUESTED, 2, 60),
    fact(ReferralEscalated, ReferralStatus.REQUESTED, 3, 61),
    fact(ReferralStatusChanged, ReferralStatus.REJECTED, 4, 90, reason_code=REJECTED),
    # the same referral offered again: a second overdue and rejection, later, change no first time
    fact(ReferralOverdue, ReferralStatus.REQUESTED, 5, 200),
    fact(
        ReferralStatusChanged,
        ReferralStatus.REJECTED,
        6,
        240,
        reason_code=AnswerReason.OUTSIDE_AREA,
        partner_name=None,
    ),
]


@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4, 5), (5, 3, 4, 0, 2, 1), (4, 5, 1, 3, 2, 0)])
@pytest.mark.parametrize("together", [True, False], ids=["one-transaction", "one-each"])
async def test_a_referral_row_is_the_same_whatever_the_order_of_its_events(
    sessions: async_sessionmaker[AsyncSession], order: tuple[int, ...], together: bool
) -> None:
    referral = {"referral_id": uuid.uuid4()}  # each order a referral of its own
    events = [STORY[i].model_copy(update=referral) for i in order]
    row = await project(sessions, events, together=together)
    assert (row.status, row.last_sequence) == ("rejected", 6)
    assert row.requested_at == T0
    assert row.overdue_at == T0 + dt.timedelta(minutes=60)
    assert row.escalated_at == T0 + dt.timedelta(minutes=61)
    assert row.rejected_at == T0 + dt.timedelta(minutes=90)
    assert row.reason_code == REJECTED.value
    assert row.partner_name == "Unit PPA Polresta Balikpapan"  # the last event had none
    assert (row.accepted_at, row.completed_at, row.failed_at, row.cancelled_at) == (None,) * 4
    assert (row.partner_slug, row.service, row.case_id) == ("polres-ppa", "law_enforcement", CASE)


async def test_an_older_event_does_not_move_the_status_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = [
        fact(ReferralStatusChanged, ReferralStatus.ACCEPTED, 2, 30),
        fact(ReferralStatusChanged, ReferralStatus.COMPLETED, 4, 300),
        fact(ReferralStatusChanged, ReferralStatus.REQUESTED, 1, 0),
        fact(ReferralStatusChanged, ReferralStatus.IN_PROGRESS, 3, 60),
    ]
    for permutation in itertools.islice(itertools.permutations(events), 0, 24, 5):
        referral = {"referral_id": uuid.uuid4()}  # each order a referral of its own
        moved = [e.model_copy(update=referral) for e in permutation]
        row = await project(sessions, moved, together=True)
        assert (row.status, row.last_sequence) == ("completed", 4)
        assert (row.requested_at, row.accepted_at, row.completed_at) == (
            T0,
            T0 + dt.timedelta(minutes=30),
            T0 + dt.timedelta(minutes=300),
        )
        assert row.reason_code is None


def case_event(kind: type[Event], version: int, victims: tuple[tuple[Sex, AgeGroup], ...]) -> Event:
    return kind(
        case_id=CASE,
        reference="PPA-2026-00001",
        version=version,
        kelurahan_code="64.71.05.1001",
        reported_at=T0,
        incident_date=T0.date(),
        place=Place.HOUSEHOLD,
        violence_forms=(ViolenceForm.PHYSICAL,),
        description="Tidak boleh sampai ke laporan.",
        risk_level=RiskLevel.HIGH if version > 1 else RiskLevel.MEDIUM,
        victims=tuple(
            Victim(name="Nama Korban", sex=sex, age_group=age, is_child=age.is_child)
            for sex, age in victims
        ),
        perpetrator=Perpetrator(relationship=PerpetratorRelationship.SPOUSE, sex=Sex.MALE),
        needs=(Service.LAW_ENFORCEMENT,),
        consent=Consent(
            given_by="victim", scope=tuple(PartnerKind), recorded_at=T0, recorded_by="officer-1"
        ),
        officer=Contact(name="Ibu Wulan", phone="081300000001"),
    )


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0)], ids=["update-first", "created-first"])
@pytest.mark.parametrize("together", [True, False], ids=["one-transaction", "one-each"])
async def test_a_case_is_its_newest_version_and_keeps_what_other_events_said(
    sessions: async_sessionmaker[AsyncSession], order: tuple[int, ...], together: bool
) -> None:
    """The update (version 2, two victims) and the case's creation (version 1, one victim),
    either first, with its closing in between: the case is version 2, closed, with two
    victims."""
    closed = CaseClosed(
        case_id=CASE,
        reference="PPA-2026-00001",
        closed_at=T0 + dt.timedelta(days=3),
        version=2,
        outcome=CaseOutcome.RESOLVED,
    )
    adult = (Sex.FEMALE, AgeGroup.A25_44)
    child = (Sex.FEMALE, AgeGroup.A6_12)
    events = [
        case_event(CaseUpdated, 2, (adult, child)),
        closed,
        case_event(CaseCreated, 1, (adult,)),
    ]
    await apply_all(sessions, [events[i] for i in order], together=together)
    async with sessions() as session:
        case = await session.get(ReportCase, CASE)
        victims = (await session.scalars(select(ReportVictim).order_by(ReportVictim.number))).all()
    assert case is not None
    assert (case.version, case.risk_level, case.erased) == (2, "high", False)
    assert (case.closed_at, case.outcome) == (T0 + dt.timedelta(days=3), "resolved")
    assert [(v.number, v.sex, v.age_group, v.is_child) for v in victims] == [
        (1, "female", "25-44", False),
        (2, "female", "6-12", True),
    ]
