"""The monthly report from a known, seeded set of events on a real nats-server: every cell of
every table equals the count made here from the set itself, the partners' median and 90th
percentile match the answers' times, a rebuild from the streams gives the same report, and
months are WITA months."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jejaring.report import monthly
from jejaring.report.app import create_app
from jejaring.report.model import Label, MonthlyReport, SimfoniRow, Table
from jejaring.report.settings import ReportSettings
from jejaring.shared import db
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
from jejaring.shared.contract.events import (
    CaseClosed,
    CaseCreated,
    CaseErased,
    CaseMerged,
    CaseUpdated,
    Consent,
    Contact,
    Event,
    PartnerDeactivated,
    Perpetrator,
    ReferralEscalated,
    ReferralNeedUnmet,
    ReferralOverdue,
    ReferralStatusChanged,
    Victim,
)
from jejaring.shared.region import load_region
from jejaring.testing import publish, run_sql, until

ADMIN_H = {"Authorization": "Bearer report-admin-token-for-tests-0123"}  # conftest's ADMIN
REGION = load_region()
KECAMATAN = Label(REGION.kecamatan.code, REGION.kecamatan.name, REGION.kecamatan.name)
NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


@dataclass
class Report:
    """The report service running (its consumers on nats-server), and its read model."""

    client: TestClient
    database_url: str

    def handled(self) -> int:
        """Events the two consumers recorded in their inbox."""
        ((count,),) = run_sql(self.database_url, "SELECT count(*) FROM inbox")
        return int(count)

    def wait_handled(self, n: int) -> None:
        until(lambda: self.handled() >= n, timeout=60)

    def _read(self, read: Callable[[Any], Any]) -> Any:
        async def go() -> Any:
            engine = db.create_engine(self.database_url)
            try:
                async with db.session_factory(engine)() as session:
                    return await read(session)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def monthly(self, month: str) -> MonthlyReport:
        report: MonthlyReport = self._read(
            lambda s: monthly.build(s, month=month, kecamatan=KECAMATAN, now=NOW)
        )
        return report

    def simfoni(self, month: str) -> list[SimfoniRow]:
        rows: list[SimfoniRow] = self._read(lambda s: monthly.simfoni_rows(s, month=month))
        return rows


@pytest.fixture
def report(report_settings: Callable[..., ReportSettings], database_url: str) -> Iterator[Report]:
    with TestClient(create_app(report_settings())) as client:
        until(lambda: client.get("/readyz").status_code == 200, timeout=30)
        yield Report(client, database_url)


WITA = dt.timezone(dt.timedelta(hours=8))
NOV = dt.datetime(2026, 11, 1, tzinfo=WITA)
PARTNERS = {  # slug -> name; each service goes to one of two partners
    "polresta-ppa": "Unit PPA Polresta Balikpapan",
    "posbakum-aisyiyah": "Posbakum Aisyiyah",
    "bikksa-mentari": "BIKKSA Mentari",
    "puskesmas-karang-rejo": "Puskesmas Karang Rejo",
}
CODES = [k.code for k in REGION.kelurahan]


@dataclass
class Ref:
    id: uuid.UUID
    slug: str
    service: Service
    requested_at: dt.datetime
    accepted_after: int | None = None  # minutes
    rejected: bool = False
    reason: AnswerReason | None = None
    overdue: bool = False
    completed: bool = False
    failed: bool = False
    cancelled: bool = False


@dataclass
class Case:
    id: uuid.UUID
    reference: str
    kelurahan: str
    reported_at: dt.datetime
    risk: RiskLevel
    place: Place
    forms: tuple[ViolenceForm, ...]
    victims: tuple[tuple[Sex, AgeGroup], ...]
    relationship: PerpetratorRelationship | None
    needs: tuple[Service, ...]
    outcome: CaseOutcome | None = None
    closed_at: dt.datetime | None = None
    erased: bool = False
    merged_into: uuid.UUID | None = None
    referrals: list[Ref] = field(default_factory=list)
    unmet: list[Service] = field(default_factory=list)


def seeded_cases(seed: int = 17) -> list[Case]:
    """Forty cases in November (WITA), six in October, two in December, varied in every field
    the report counts; their referrals answered in known ways."""
    rng = random.Random(seed)
    cases = []
    months = [(NOV, 30)] * 40 + [(dt.datetime(2026, 10, 1, tzinfo=WITA), 31)] * 6
    months += [(dt.datetime(2026, 12, 1, tzinfo=WITA), 31)] * 2
    for n, (start, days) in enumerate(months, start=1):
        reported = start + dt.timedelta(minutes=rng.randrange(days * 24 * 60 - 120))
        case = Case(
            id=uuid.uuid4(),
            reference=f"BPT-2026-{n:06d}",
            kelurahan=rng.choice(CODES),
            reported_at=reported,
            risk=rng.choice(list(RiskLevel)),
            place=rng.choice(list(Place)),
            forms=tuple(rng.sample(list(ViolenceForm), rng.randint(1, 3))),
            victims=tuple(
                (rng.choice(list(Sex)), rng.choice(list(AgeGroup)))
                for _ in range(rng.choice((1, 1, 1, 2, 3)))
            ),
            relationship=rng.choice([*PerpetratorRelationship, None]),
            needs=tuple(rng.sample(list(Service), rng.randint(0, 3))),
        )
        for service in case.needs:
            slug = rng.choice(list(PARTNERS))
            ref = Ref(uuid.uuid4(), slug, service, reported + dt.timedelta(minutes=15))
            fate = rng.choice(("accept", "accept", "reject", "overdue", "open", "cancel", "unmet"))
            if fate == "unmet":
                case.unmet.append(service)
                continue
            if fate == "accept":
                ref.accepted_after = rng.randrange(5, 600)
                ref.completed = rng.random() < 0.5
                ref.failed = not ref.completed and rng.random() < 0.3
            elif fate == "reject":
                ref.rejected = True
                ref.reason = rng.choice([*AnswerReason, None])
            elif fate == "overdue":
                ref.overdue = True
                if rng.random() < 0.5:
                    ref.accepted_after = 60 * 30
            elif fate == "cancel":
                ref.cancelled = True
            case.referrals.append(ref)
        if rng.random() < 0.4:
            case.outcome = rng.choice([o for o in CaseOutcome if o is not CaseOutcome.DUPLICATE])
            case.closed_at = reported + dt.timedelta(days=rng.randrange(0, 20))
        cases.append(case)
    cases[3].erased = True
    cases[5].merged_into = cases[6].id  # a duplicate: no longer a case, its referrals count
    cases[5].outcome, cases[5].closed_at = CaseOutcome.DUPLICATE, cases[5].reported_at
    return cases


def snapshot(case: Case, version: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        case_id=case.id,
        reference=case.reference,
        version=version,
        kelurahan_code=case.kelurahan,
        reported_at=case.reported_at,
        incident_date=case.reported_at.date() - dt.timedelta(days=1),
        place=case.place,
        violence_forms=case.forms,
        description="Tidak boleh sampai ke laporan.",
        risk_level=case.risk,
        victims=tuple(
            Victim(name="Nama Korban", sex=sex, age_group=age, is_child=age.is_child)
            for sex, age in case.victims
        ),
        perpetrator=Perpetrator(relationship=case.relationship, sex=Sex.MALE)
        if case.relationship
        else None,
        needs=case.needs,
        consent=Consent(
            given_by="victim",
            scope=tuple(PartnerKind),
            recorded_at=case.reported_at,
            recorded_by="officer-1",
        ),
        officer=Contact(name="Ibu Wulan", phone="081300000001"),
    )
    return fields | changes


def referral_events(case: Case, ref: Ref) -> list[Event]:
    """Every event of the referral with its sequence, requested first."""
    base: dict[str, Any] = dict(
        referral_id=ref.id,
        case_id=case.id,
        case_reference=case.reference,
        partner_slug=ref.slug,
        partner_name=PARTNERS[ref.slug],
        service=ref.service,
        kelurahan_code=case.kelurahan,
        risk_level=case.risk,
        priority=Priority.ROUTINE,
    )
    seq = [0]

    def fact(kind: type[Event], status: ReferralStatus, at: dt.datetime, **more: Any) -> Event:
        seq[0] += 1
        return kind(**base, status=status, sequence=seq[0], occurred_at=at, **more)

    t = ref.requested_at
    out = [fact(ReferralStatusChanged, ReferralStatus.REQUESTED, t)]
    if ref.overdue:
        out.append(fact(ReferralOverdue, ReferralStatus.REQUESTED, t + dt.timedelta(hours=24)))
        out.append(fact(ReferralEscalated, ReferralStatus.REQUESTED, t + dt.timedelta(hours=24)))
    if ref.accepted_after is not None:
        accepted = t + dt.timedelta(minutes=ref.accepted_after)
        out.append(fact(ReferralStatusChanged, ReferralStatus.ACCEPTED, accepted, by="Bu Ani"))
        if ref.completed or ref.failed:
            end = ReferralStatus.COMPLETED if ref.completed else ReferralStatus.FAILED
            out.append(fact(ReferralStatusChanged, end, accepted + dt.timedelta(days=2)))
    if ref.rejected:
        out.append(
            fact(
                ReferralStatusChanged,
                ReferralStatus.REJECTED,
                t + dt.timedelta(minutes=90),
                reason="Teks alasan tidak disimpan",
                reason_code=ref.reason,
            )
        )
    if ref.cancelled:
        out.append(fact(ReferralStatusChanged, ReferralStatus.CANCELLED, t + dt.timedelta(hours=3)))
    return out


def events_of(cases: list[Case], rng: random.Random) -> list[tuple[Event, str | None]]:
    """Every event of the set, with a message id where one is repeated on purpose."""
    out: list[tuple[Event, str | None]] = []
    for case in cases:
        first = snapshot(case, 1, violence_forms=(ViolenceForm.OTHER,), risk_level=RiskLevel.LOW)
        out.append((CaseCreated(**first), None))
        out.append((CaseUpdated(**snapshot(case, 2)), None))
        out.append((CaseUpdated(**first | {"version": 1}), None))  # stale: ignored
        if case.merged_into:
            merged_at = case.reported_at + dt.timedelta(hours=1)
            out.append(
                (
                    CaseMerged(
                        case_id=case.id,
                        reference=case.reference,
                        into_case_id=case.merged_into,
                        into_reference="BPT-2026-000007",
                        merged_at=merged_at,
                    ),
                    None,
                )
            )
        if case.outcome and case.closed_at:
            closed = CaseClosed(
                case_id=case.id,
                reference=case.reference,
                version=3,
                outcome=case.outcome,
                closed_at=case.closed_at,
                note="Catatan penutupan",
            )
            out.append((closed, None))
        if case.erased:
            out.append(
                (
                    CaseErased(
                        case_id=case.id,
                        reference=case.reference,
                        erased_at=case.reported_at + dt.timedelta(days=1),
                        why="erasure",
                    ),
                    None,
                )
            )
    for case in cases:
        for ref in case.referrals:
            steps = referral_events(case, ref)
            rng.shuffle(steps)  # out of order: the sequence and the first times decide
            out += [(e, None) for e in steps]
        for service in case.unmet:
            unmet = ReferralNeedUnmet(
                case_id=case.id,
                case_reference=case.reference,
                kelurahan_code=case.kelurahan,
                service=service,
                reason="Tidak ada mitra aktif",
                occurred_at=case.reported_at + dt.timedelta(minutes=15),
            )
            out.append((unmet, None))
            later = unmet.model_copy(
                update={"occurred_at": unmet.occurred_at + dt.timedelta(days=1)}
            )
            out.append((later, None))  # found unmet again: still once
    out.append((PartnerDeactivated(partner_slug="bikksa-mentari", deactivated_at=NOV), None))
    return out


# --- the counts, made from the set -----------------------------------------------------


def in_month(at: dt.datetime | None, month: str) -> bool:
    return at is not None and at.astimezone(WITA).strftime("%Y-%m") == month


def counted(cases: list[Case], month: str) -> list[Case]:
    return [c for c in cases if in_month(c.reported_at, month) and c.merged_into is None]


def refs(cases: list[Case], month: str) -> list[Ref]:
    return [r for c in cases for r in c.referrals if in_month(r.requested_at, month)]


def cells(table: Table) -> dict[tuple[str, str], int]:
    """The table as {(row code, column code): count}, zero cells left out."""
    return {
        (row.code, column.code): table.cells[i][j]
        for i, row in enumerate(table.rows)
        for j, column in enumerate(table.columns)
        if table.cells[i][j]
    }


def expected_tables(cases: list[Case], month: str) -> dict[str, Counter[tuple[str, str]]]:
    month_cases = counted(cases, month)
    victims = [(c, sex, age) for c in month_cases for sex, age in c.victims]
    month_refs = refs(cases, month)
    exp: dict[str, Counter[tuple[str, str]]] = {}
    exp["cases_by_kelurahan"] = Counter((c.kelurahan, c.risk.value) for c in month_cases)
    exp["victims_by_kelurahan_form"] = Counter(
        (c.kelurahan, f.value) for c, _sex, _age in victims for f in c.forms
    )
    exp["victims_by_age_sex"] = Counter((age.value, sex.value) for _c, sex, age in victims)
    exp["victims_by_form_sex"] = Counter(
        (f.value, sex.value) for c, sex, _age in victims for f in c.forms
    )
    exp["cases_by_place"] = Counter((c.place.value, "cases") for c in month_cases)
    exp["cases_by_relationship"] = Counter(
        (c.relationship.value if c.relationship else "not_recorded", "cases") for c in month_cases
    )
    needs: Counter[tuple[str, str]] = Counter(
        (s.value, "needed") for c in month_cases for s in c.needs
    )
    needs.update(
        (s.value, "unmet")
        for c in cases
        for s in c.unmet
        if in_month(c.reported_at + dt.timedelta(minutes=15), month)
    )
    exp["needs"] = needs
    by_partner: Counter[tuple[str, str]] = Counter()
    for r in month_refs:
        flags = {
            "received": True,
            "accepted": r.accepted_after is not None,
            "rejected": r.rejected,
            "overdue": r.overdue,
            "escalated": r.overdue,
            "completed": r.completed,
            "failed": r.failed,
            "cancelled": r.cancelled,
        }
        by_partner.update((r.slug, k) for k, v in flags.items() if v)
    exp["referrals_by_partner"] = by_partner
    exp["rejections_by_reason"] = Counter(
        (r.slug, r.reason.value if r.reason else "no_code") for r in month_refs if r.rejected
    )
    exp["cases_closed_by_outcome"] = Counter(
        (c.outcome.value, "cases")
        for c in cases
        if c.outcome and c.merged_into is None and in_month(c.closed_at, month)
    )
    return exp


def expected_trend(cases: list[Case], months: list[str]) -> Counter[tuple[str, str]]:
    trend: Counter[tuple[str, str]] = Counter()
    for m in months:
        mc = counted(cases, m)
        mr = refs(cases, m)
        trend[(m, "cases")] = len(mc)
        trend[(m, "victims")] = sum(len(c.victims) for c in mc)
        trend[(m, "child_victims")] = sum(age.is_child for c in mc for _s, age in c.victims)
        trend[(m, "referrals")] = len(mr)
        trend[(m, "accepted")] = sum(r.accepted_after is not None for r in mr)
        trend[(m, "unmet")] = sum(
            1
            for c in cases
            for _s in c.unmet
            if in_month(c.reported_at + dt.timedelta(minutes=15), m)
        )
    return +trend


def post(cases: list[Case], report: Report, nats_url: str) -> int:
    rng = random.Random(4)
    events = events_of(cases, rng)
    for event, msg_id in events:
        publish(nats_url, event, msg_id=msg_id)
    report.wait_handled(len(events))
    return len(events)


def test_every_cell_equals_the_count_of_the_seeded_set(report: Report, nats_url: str) -> None:
    cases = seeded_cases()
    total = post(cases, report, nats_url)
    got = report.monthly("2026-11")

    expected = expected_tables(cases, "2026-11")
    assert [t.key for t in got.tables] == list(expected)
    for table in got.tables:
        assert cells(table) == +expected[table.key], table.key
    # the rows and columns a reader sees
    kelurahan = got.table("cases_by_kelurahan")
    assert [r.code for r in kelurahan.rows] == CODES
    assert [c.code for c in kelurahan.columns] == ["high", "medium", "low"]
    assert (kelurahan.row_totals, kelurahan.column_totals) == (True, True)
    forms = got.table("victims_by_kelurahan_form")
    assert (forms.row_totals, forms.column_totals) == (False, True)
    assert [r.code for r in got.table("victims_by_age_sex").rows] == [a.value for a in AgeGroup]
    partners = got.table("referrals_by_partner")
    assert {r.code: r.id for r in partners.rows} == {
        slug: PARTNERS[slug] for slug in {r.slug for r in refs(cases, "2026-11")}
    }
    assert [r.code for r in got.table("cases_closed_by_outcome").rows] == [
        o.value for o in CaseOutcome if o is not CaseOutcome.DUPLICATE
    ]
    assert [c.code for c in got.table("rejections_by_reason").columns] == [
        *(a.value for a in AnswerReason),
        "no_code",
    ]
    # the set really has what the tables count: no vacuous pass
    assert kelurahan.grand_total() == 39  # 40 November cases, one merged away
    assert forms.grand_total() > kelurahan.grand_total()
    assert cells(got.table("rejections_by_reason"))
    assert cells(got.table("needs"))

    months = ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    assert [r.code for r in got.trend.rows] == months
    assert got.trend.rows[-1].id == "Nov 2026" and got.trend.rows[-2].en == "Oct 2026"
    assert cells(got.trend) == expected_trend(cases, months)

    for timing in got.timings:
        mine = [r for r in refs(cases, "2026-11") if r.slug == timing.partner.code]
        minutes = sorted(r.accepted_after for r in mine if r.accepted_after is not None)
        assert timing.accepted == len(minutes)
        if minutes:
            assert timing.median_minutes == round(statistics.median(minutes), 1)
            p90 = (
                minutes[0]
                if len(minutes) == 1
                else statistics.quantiles(minutes, n=10, method="inclusive")[8]
            )
            assert timing.p90_minutes == round(p90, 1)
        overdue = sum(r.overdue for r in mine)
        assert timing.overdue_percent == round(100 * overdue / len(mine), 1)
    assert [t.partner.code for t in got.timings] == [r.code for r in partners.rows]

    simfoni = report.simfoni("2026-11")
    listed = {c.reference for c in counted(cases, "2026-11") if not c.erased}
    assert {row.case_reference for row in simfoni} == listed
    assert cases[3].reference not in listed and cases[5].reference not in listed
    assert len(simfoni) == sum(len(c.victims) for c in counted(cases, "2026-11") if not c.erased)
    assert total == report.handled()


def test_a_rebuild_from_the_streams_gives_the_same_report(report: Report, nats_url: str) -> None:
    cases = seeded_cases(seed=29)
    total = post(cases, report, nats_url)
    before = report.monthly("2026-11")
    # a read model gone wrong: rows lost, a count changed
    run_sql(report.database_url, "DELETE FROM report_referral WHERE accepted_at IS NOT NULL")
    run_sql(report.database_url, "UPDATE report_case SET risk_level = 'high'")
    assert report.monthly("2026-11") != before

    answer = report.client.post("/api/v1/admin/rebuild", headers=ADMIN_H)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"replaying": ["report-cases", "report-referral-events"]}
    report.wait_handled(total)
    after = report.monthly("2026-11")
    assert after == before  # generated_at too: both built with the same `now`
    assert report.simfoni("2026-11") == report.simfoni("2026-11")


def test_only_the_admin_rebuilds(report: Report) -> None:
    assert report.client.post("/api/v1/admin/rebuild").status_code == 401


def test_months_are_wita_months(report: Report, nats_url: str) -> None:
    """23:30 WITA on 30 November is November; 00:30 WITA on 1 December (16:30 UTC on 30
    November, the same UTC day) is December."""
    base = seeded_cases()[0]
    late = Case(
        **{
            **base.__dict__,
            "id": uuid.uuid4(),
            "reference": "BPT-2026-000901",
            "reported_at": dt.datetime(2026, 11, 30, 23, 30, tzinfo=WITA),
            "referrals": [],
            "unmet": [],
            "outcome": None,
            "closed_at": None,
            "erased": False,
            "merged_into": None,
        }
    )
    early = Case(
        **{
            **late.__dict__,
            "id": uuid.uuid4(),
            "reference": "BPT-2026-000902",
            "reported_at": dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC),
        }
    )
    assert late.reported_at.astimezone(dt.UTC).date() == early.reported_at.date()
    post([late, early], report, nats_url)
    november, december = report.monthly("2026-11"), report.monthly("2026-12")
    assert november.table("cases_by_kelurahan").grand_total() == 1
    assert december.table("cases_by_kelurahan").grand_total() == 1
    assert [r.case_reference for r in report.simfoni("2026-11")] == ["BPT-2026-000901"] * len(
        late.victims
    )
    assert {r.reported_on for r in report.simfoni("2026-12")} == {dt.date(2026, 12, 1)}
    assert cells(december.trend)[("2026-11", "cases")] == 1
    assert cells(december.trend)[("2026-12", "cases")] == 1
