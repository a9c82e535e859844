"""The monthly report's numbers, counted from the read model (models.py).

Months are calendar months in the region's time (WITA for Balikpapan): a case belongs to the
month it was reported in, a referral to the month it was requested in, a closure to the month
of its `closed_at`, an unmet need to the month it was found unmet. A case merged into another
(a duplicate) no longer counts; an erased case still counts in every table, but is never a row
of the case-level SIMFONI-PPA export.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.report.model import Label, MonthlyReport, PartnerTiming, SimfoniRow, Table
from jejaring.report.models import ReportCase, ReportReferral, ReportUnmetNeed, ReportVictim
from jejaring.shared.contract.enums import (
    AgeGroup,
    AnswerReason,
    CaseOutcome,
    LabelledEnum,
    PerpetratorRelationship,
    Place,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.shared.region import Region, load_region

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TREND_MONTHS = 12

CASES = Label("cases", "Kasus", "Cases")
VICTIMS = Label("victims", "Korban", "Victims")
REFERRALS = Label("referrals", "Rujukan", "Referrals")
NOT_RECORDED = Label("not_recorded", "Tidak dicatat", "Not recorded")
NO_CODE = Label("no_code", "Tanpa kode alasan", "No code given")
OTHER_KELURAHAN = Label("other", "Kelurahan lain", "Other kelurahan")
NOTE_FORMS = Label(
    "several_forms",
    "Korban yang mengalami lebih dari satu bentuk kekerasan dihitung pada setiap bentuknya.",
    "A victim who suffered more than one form of violence is counted under each form.",
)
NOTE_ERASED = Label(
    "erased_counted",
    "Kasus yang data pribadinya telah dihapus tetap dihitung; kasus ganda yang digabung tidak.",
    "Cases whose personal data was erased still count; duplicates merged into another do not.",
)
_MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class InvalidMonth(ValueError):
    """A month that is not YYYY-MM."""


def parse_month(month: str) -> tuple[int, int]:
    """(year, month) of "YYYY-MM", or InvalidMonth saying what is expected."""
    match = MONTH_RE.fullmatch(month)
    if not match:
        raise InvalidMonth(f"month must be YYYY-MM (e.g. 2026-11), not {month!r}")
    return int(match[1]), int(match[2])


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Window:
    """One calendar month in the region's time, as a half-open UTC interval."""

    year: int
    month: int
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, year: int, month: int, zone: ZoneInfo) -> Window:
        next_year, next_month = _shift(year, month, 1)
        start = dt.datetime(year, month, 1, tzinfo=zone).astimezone(dt.UTC)
        end = dt.datetime(next_year, next_month, 1, tzinfo=zone).astimezone(dt.UTC)
        return cls(year, month, start, end)

    def has(self, at: dt.datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    @property
    def label(self) -> Label:
        return Label(
            f"{self.year:04d}-{self.month:02d}",
            f"{_MONTHS_ID[self.month - 1]} {self.year}",
            f"{_MONTHS_EN[self.month - 1]} {self.year}",
        )


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) of `values` by linear interpolation between closest ranks
    (Hyndman and Fan's type 7, the default of numpy and of spreadsheets' PERCENTILE): the value
    at rank 1 + (n - 1) * p / 100 of the sorted values, interpolated between its neighbours."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class _Case:
    row: ReportCase
    victims: tuple[ReportVictim, ...]


class _ReadModel:
    """What the read model holds for the windows asked for, loaded once."""

    def __init__(
        self,
        cases: Sequence[ReportCase],
        victims: Sequence[ReportVictim],
        referrals: Sequence[ReportReferral],
        unmet: Sequence[ReportUnmetNeed],
        merged_into: dict[uuid.UUID, uuid.UUID],
    ) -> None:
        by_case: dict[uuid.UUID, list[ReportVictim]] = defaultdict(list)
        for victim in victims:
            by_case[victim.case_id].append(victim)
        self.cases = [
            _Case(case, tuple(sorted(by_case[case.id], key=lambda v: v.number)))
            for case in cases
            if case.merged_into is None
        ]
        self.referrals = list(referrals)
        self.merged_into = merged_into
        # once per (case, service), the duplicate's need counted as its kept case's
        first: dict[tuple[uuid.UUID, str], ReportUnmetNeed] = {}
        for need in sorted(unmet, key=lambda n: n.occurred_at):
            first.setdefault((self.kept(need.case_id), need.service), need)
        self.unmet = list(first.values())

    def kept(self, case_id: uuid.UUID) -> uuid.UUID:
        """The case a duplicate was merged into (followed to the end), else the case itself."""
        seen = {case_id}
        while (into := self.merged_into.get(case_id)) is not None and into not in seen:
            seen.add(into)
            case_id = into
        return case_id

    def cases_in(self, window: Window) -> list[_Case]:
        return [c for c in self.cases if window.has(c.row.reported_at)]

    def referrals_in(self, window: Window) -> list[ReportReferral]:
        return [r for r in self.referrals if window.has(r.requested_at)]

    def unmet_in(self, window: Window) -> list[ReportUnmetNeed]:
        return [n for n in self.unmet if window.has(n.occurred_at)]


async def _load(session: AsyncSession, first: Window, last: Window) -> _ReadModel:
    start, end = first.start, last.end
    cases = (
        await session.scalars(
            select(ReportCase).where(
                or_(
                    (ReportCase.reported_at >= start) & (ReportCase.reported_at < end),
                    (ReportCase.closed_at >= start) & (ReportCase.closed_at < end),
                )
            )
        )
    ).all()
    case_ids = [case.id for case in cases]
    victims = (
        await session.scalars(select(ReportVictim).where(ReportVictim.case_id.in_(case_ids)))
    ).all()
    referrals = (
        await session.scalars(
            select(ReportReferral).where(
                ReportReferral.requested_at >= start, ReportReferral.requested_at < end
            )
        )
    ).all()
    unmet = (
        await session.scalars(
            select(ReportUnmetNeed).where(
                ReportUnmetNeed.occurred_at >= start, ReportUnmetNeed.occurred_at < end
            )
        )
    ).all()
    merged = (
        await session.execute(
            select(ReportCase.id, ReportCase.merged_into).where(ReportCase.merged_into.is_not(None))
        )
    ).all()
    return _ReadModel(cases, victims, referrals, unmet, {a: b for a, b in merged if b})


def _labels(values: Iterable[LabelledEnum]) -> tuple[Label, ...]:
    return tuple(Label.of(value) for value in values)


def _table(
    key: str,
    title: Label,
    unit: Label,
    rows: Sequence[Label],
    columns: Sequence[Label],
    count: Counter[tuple[str, str]],
    *,
    row_totals: bool = True,
    column_totals: bool = True,
    note: Label | None = None,
) -> Table:
    """A table whose cell (row, column) is `count[(row.code, column.code)]`."""
    return Table(
        key=key,
        title=title,
        unit=unit,
        rows=tuple(rows),
        columns=tuple(columns),
        cells=tuple(tuple(count[(r.code, c.code)] for c in columns) for r in rows),
        row_totals=row_totals,
        column_totals=column_totals,
        note=note,
    )


class _Builder:
    def __init__(self, model: _ReadModel, window: Window, region: Region) -> None:
        self.model = model
        self.window = window
        self.region = region
        self.cases = model.cases_in(window)
        self.referrals = model.referrals_in(window)
        self.kelurahan = tuple(Label(k.code, k.name, k.name) for k in region.kelurahan)

    def _kelurahan_rows(self, codes: Iterable[str]) -> tuple[Label, ...]:
        """The region's kelurahan; "other kelurahan" too when something was counted there."""
        known = set(self.region.codes)
        return self.kelurahan + ((OTHER_KELURAHAN,) if set(codes) - known else ())

    def _kelurahan_of(self, code: str) -> str:
        return code if code in self.region.codes else OTHER_KELURAHAN.code

    def _victims(self) -> Iterable[tuple[ReportCase, ReportVictim]]:
        return ((c.row, v) for c in self.cases for v in c.victims)

    def cases_by_kelurahan(self) -> Table:
        count = Counter(
            (self._kelurahan_of(c.row.kelurahan_code), c.row.risk_level) for c in self.cases
        )
        return _table(
            "cases_by_kelurahan",
            Label(
                "cases_by_kelurahan",
                "Kasus per kelurahan dan tingkat risiko",
                "Cases by kelurahan and risk level",
            ),
            CASES,
            self._kelurahan_rows(c.row.kelurahan_code for c in self.cases),
            _labels(RiskLevel),
            count,
        )

    def victims_by_kelurahan_form(self) -> Table:
        count = Counter(
            (self._kelurahan_of(case.kelurahan_code), form)
            for case, _victim in self._victims()
            for form in set(case.violence_forms)
        )
        return _table(
            "victims_by_kelurahan_form",
            Label(
                "victims_by_kelurahan_form",
                "Korban per kelurahan dan bentuk kekerasan",
                "Victims by kelurahan and form of violence",
            ),
            VICTIMS,
            self._kelurahan_rows(c.row.kelurahan_code for c in self.cases),
            _labels(ViolenceForm),
            count,
            row_totals=False,
            column_totals=True,
            note=NOTE_FORMS,
        )

    def victims_by_age_sex(self) -> Table:
        count = Counter((victim.age_group, victim.sex) for _case, victim in self._victims())
        return _table(
            "victims_by_age_sex",
            Label(
                "victims_by_age_sex",
                "Korban per kelompok umur dan jenis kelamin",
                "Victims by age group and sex",
            ),
            VICTIMS,
            _labels(AgeGroup),
            _labels(Sex),
            count,
        )

    def victims_by_form_sex(self) -> Table:
        count = Counter(
            (form, victim.sex)
            for case, victim in self._victims()
            for form in set(case.violence_forms)
        )
        return _table(
            "victims_by_form_sex",
            Label(
                "victims_by_form_sex",
                "Korban per bentuk kekerasan dan jenis kelamin",
                "Victims by form of violence and sex",
            ),
            VICTIMS,
            _labels(ViolenceForm),
            _labels(Sex),
            count,
            row_totals=True,
            column_totals=False,
            note=NOTE_FORMS,
        )

    def cases_by_place(self) -> Table:
        count = Counter((c.row.place, CASES.code) for c in self.cases)
        return _table(
            "cases_by_place",
            Label("cases_by_place", "Kasus per tempat kejadian", "Cases by place of incident"),
            CASES,
            _labels(Place),
            (CASES,),
            count,
            row_totals=False,
            column_totals=True,
        )

    def cases_by_relationship(self) -> Table:
        count = Counter(
            (c.row.perpetrator_relationship or NOT_RECORDED.code, CASES.code) for c in self.cases
        )
        return _table(
            "cases_by_relationship",
            Label(
                "cases_by_relationship",
                "Kasus per hubungan pelaku dengan korban",
                "Cases by the perpetrator's relationship to the victim",
            ),
            CASES,
            (*_labels(PerpetratorRelationship), NOT_RECORDED),
            (CASES,),
            count,
            row_totals=False,
            column_totals=True,
        )

    def needs(self) -> Table:
        needed = Label("needed", "Dibutuhkan kasus", "Needed by cases")
        unmet = Label("unmet", "Tidak ada mitra yang dapat menangani", "No partner could take")
        count: Counter[tuple[str, str]] = Counter(
            (need, needed.code) for c in self.cases for need in set(c.row.needs)
        )
        count.update((n.service, unmet.code) for n in self.model.unmet_in(self.window))
        return _table(
            "needs",
            Label("needs", "Kebutuhan layanan", "Services needed"),
            CASES,
            _labels(Service),
            (needed, unmet),
            count,
            row_totals=False,
            column_totals=False,
        )

    def partners(self) -> tuple[Label, ...]:
        """The partners with a referral requested in the month, by name."""
        names: dict[str, str] = {}
        for referral in sorted(self.referrals, key=lambda r: r.last_sequence):
            names[referral.partner_slug] = referral.partner_name or names.get(
                referral.partner_slug, referral.partner_slug
            )
        ordered = sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
        return tuple(Label(slug, name, name) for slug, name in ordered)

    def referrals_by_partner(self) -> Table:
        columns = (
            Label("received", "Diterima masuk", "Received"),
            Label("accepted", "Disetujui", "Accepted"),
            Label("rejected", "Ditolak", "Rejected"),
            Label("overdue", "Melewati batas waktu", "Overdue"),
            Label("escalated", "Dieskalasi", "Escalated"),
            Label("completed", "Selesai", "Completed"),
            Label("failed", "Gagal", "Failed"),
            Label("cancelled", "Dibatalkan", "Cancelled"),
        )
        count: Counter[tuple[str, str]] = Counter()
        for r in self.referrals:
            count[(r.partner_slug, "received")] += 1
            for column in columns[1:]:
                if getattr(r, f"{column.code}_at") is not None:
                    count[(r.partner_slug, column.code)] += 1
        return _table(
            "referrals_by_partner",
            Label("referrals_by_partner", "Rujukan per mitra", "Referrals by partner"),
            REFERRALS,
            self.partners(),
            columns,
            count,
            row_totals=False,
            column_totals=True,
        )

    def rejections_by_reason(self) -> Table:
        rejected = [r for r in self.referrals if r.rejected_at is not None]
        count = Counter((r.partner_slug, r.reason_code or NO_CODE.code) for r in rejected)
        slugs = {r.partner_slug for r in rejected}
        return _table(
            "rejections_by_reason",
            Label(
                "rejections_by_reason", "Rujukan ditolak per alasan", "Rejected referrals by reason"
            ),
            REFERRALS,
            tuple(p for p in self.partners() if p.code in slugs),
            (*_labels(AnswerReason), NO_CODE),
            count,
        )

    def cases_closed_by_outcome(self) -> Table:
        count = Counter(
            (c.row.outcome, CASES.code)
            for c in self.model.cases
            if self.window.has(c.row.closed_at) and c.row.outcome
        )
        return _table(
            "cases_closed_by_outcome",
            Label("cases_closed_by_outcome", "Kasus ditutup per hasil", "Cases closed by outcome"),
            CASES,
            _labels(o for o in CaseOutcome if o is not CaseOutcome.DUPLICATE),
            (CASES,),
            count,
            row_totals=False,
            column_totals=True,
        )

    def timings(self) -> tuple[PartnerTiming, ...]:
        """Per partner, over its referrals requested in the month: of those it accepted, the
        median and the 90th percentile (`percentile`, type 7) of the minutes from request to
        acceptance; of all it received, the share that went overdue. Rounded to 0.1."""
        timings = []
        for partner in self.partners():
            received = [r for r in self.referrals if r.partner_slug == partner.code]
            minutes = [
                (r.accepted_at - r.requested_at).total_seconds() / 60
                for r in received
                if r.accepted_at is not None and r.requested_at is not None
            ]
            overdue = sum(1 for r in received if r.overdue_at is not None)
            timings.append(
                PartnerTiming(
                    partner=partner,
                    accepted=len(minutes),
                    median_minutes=round(statistics.median(minutes), 1) if minutes else None,
                    p90_minutes=round(percentile(minutes, 90), 1) if minutes else None,
                    overdue_percent=round(100 * overdue / len(received), 1),
                    received=len(received),
                )
            )
        return tuple(timings)


def _trend(model: _ReadModel, windows: Sequence[Window]) -> Table:
    columns = (
        CASES,
        VICTIMS,
        Label("child_victims", "Korban anak", "Child victims"),
        REFERRALS,
        Label("accepted", "Rujukan disetujui", "Referrals accepted"),
        Label("unmet", "Kebutuhan tak terpenuhi", "Unmet needs"),
    )
    count: Counter[tuple[str, str]] = Counter()
    for window in windows:
        month = window.label.code
        cases = model.cases_in(window)
        referrals = model.referrals_in(window)
        count[(month, "cases")] = len(cases)
        count[(month, "victims")] = sum(len(c.victims) for c in cases)
        count[(month, "child_victims")] = sum(v.is_child for c in cases for v in c.victims)
        count[(month, "referrals")] = len(referrals)
        count[(month, "accepted")] = sum(r.accepted_at is not None for r in referrals)
        count[(month, "unmet")] = len(model.unmet_in(window))
    return _table(
        "trend",
        Label("trend", "Tren dua belas bulan terakhir", "Trend over the last twelve months"),
        CASES,
        tuple(w.label for w in windows),
        columns,
        count,
        row_totals=False,
        column_totals=False,
    )


def _zone(region: Region) -> ZoneInfo:
    return ZoneInfo(region.timezone)


async def build(
    session: AsyncSession,
    *,
    month: str,
    kecamatan: Label,
    now: dt.datetime,
    region: Region | None = None,
) -> MonthlyReport:
    """The monthly report of `month` ("YYYY-MM", in the region's time): every table of exact
    counts, the partners' timings and the twelve months' trend. `region` defaults to the
    shared region file (its kelurahan are the rows of the kelurahan tables)."""
    region = region or load_region()
    zone = _zone(region)
    year, number = parse_month(month)
    windows = [Window.of(*_shift(year, number, back), zone) for back in range(1 - TREND_MONTHS, 1)]
    window = windows[-1]
    model = await _load(session, windows[0], window)
    builder = _Builder(model, window, region)
    tables: tuple[Table, ...] = (
        builder.cases_by_kelurahan(),
        builder.victims_by_kelurahan_form(),
        builder.victims_by_age_sex(),
        builder.victims_by_form_sex(),
        builder.cases_by_place(),
        builder.cases_by_relationship(),
        builder.needs(),
        builder.referrals_by_partner(),
        builder.rejections_by_reason(),
        builder.cases_closed_by_outcome(),
    )
    return MonthlyReport(
        month=month,
        kecamatan=kecamatan,
        generated_at=now,
        tables=tables,
        timings=builder.timings(),
        trend=_trend(model, windows),
        notes=(NOTE_FORMS, NOTE_ERASED),
    )


async def simfoni_rows(
    session: AsyncSession, *, month: str, region: Region | None = None
) -> list[SimfoniRow]:
    """One row per victim of each case reported in `month` (region's time) that still counts
    and was not erased, by reference and victim number. `services_referred`: the services
    some partner accepted for the case (or for a duplicate merged into it)."""
    region = region or load_region()
    zone = _zone(region)
    window = Window.of(*parse_month(month), zone)
    model = await _load(session, window, window)
    cases = [c for c in model.cases_in(window) if not c.row.erased]
    ids = {c.row.id for c in cases}
    merged_in = [a for a, b in model.merged_into.items() if model.kept(b) in ids]
    accepted = (
        await session.scalars(
            select(ReportReferral).where(
                ReportReferral.case_id.in_([*ids, *merged_in]),
                ReportReferral.accepted_at.is_not(None),
            )
        )
    ).all()
    referred: dict[uuid.UUID, set[str]] = defaultdict(set)
    for referral in accepted:
        referred[model.kept(referral.case_id)].add(referral.service)
    names = {k.code: k.name for k in region.kelurahan}
    rows = []
    for c in sorted(cases, key=lambda c: (c.row.reported_at, c.row.reference)):
        case = c.row
        for victim in c.victims:
            rows.append(
                SimfoniRow(
                    case_reference=case.reference,
                    victim_number=victim.number,
                    reported_on=case.reported_at.astimezone(zone).date(),
                    incident_date=case.incident_date,
                    kelurahan_code=case.kelurahan_code,
                    kelurahan_name=names.get(case.kelurahan_code, case.kelurahan_code),
                    place=case.place,
                    violence_forms=tuple(case.violence_forms),
                    victim_sex=victim.sex,
                    victim_age_group=victim.age_group,
                    victim_is_child=victim.is_child,
                    perpetrator_relationship=case.perpetrator_relationship,
                    perpetrator_sex=case.perpetrator_sex,
                    perpetrator_is_child=case.perpetrator_is_child,
                    services_needed=tuple(case.needs),
                    services_referred=tuple(
                        s.value for s in Service if s.value in referred[case.id]
                    ),
                    outcome=case.outcome,
                )
            )
    return rows
