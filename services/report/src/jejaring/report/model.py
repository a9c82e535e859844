"""The monthly report as data: what the read model's queries (monthly.py) produce and what every
view of it (the API's JSON, the pages, CSV, XLSX, PDF) renders. Counts only, never a name, a
phone or a free text.

A `Table` is a two-way count (rows x columns). Its totals are shown only where they are real
sums: `row_totals` when every counted unit falls in exactly one column (a victim has one sex),
`column_totals` when it falls in exactly one row. A victim who suffered two forms of violence is
counted in both form columns, so a table with forms as columns has no row totals. Small-number
suppression (suppression.py) works on these tables and their totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from jejaring.shared.contract.enums import LabelledEnum, Lang


@dataclass(frozen=True)
class Label:
    """A code with its label in Bahasa Indonesia and in English."""

    code: str
    id: str
    en: str

    def text(self, lang: Lang = "id") -> str:
        return self.id if lang == "id" else self.en

    @classmethod
    def of(cls, value: LabelledEnum) -> Label:
        return cls(value.value, value.label("id"), value.label("en"))


@dataclass(frozen=True)
class Table:
    """Counts of `unit` by row and column."""

    key: str  # stable, e.g. "victims_by_age_sex": sheet names, CSV sections, anchors
    title: Label
    unit: Label  # what is counted: korban/victims, kasus/cases, rujukan/referrals
    rows: tuple[Label, ...]
    columns: tuple[Label, ...]
    cells: tuple[tuple[int, ...], ...]  # cells[i][j]: row i, column j
    row_totals: bool = True  # each row's cells add up to a total ("Jumlah" column)
    column_totals: bool = True  # each column's cells add up to a total ("Jumlah" row)
    note: Label | None = None

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.rows) or any(
            len(row) != len(self.columns) for row in self.cells
        ):
            raise ValueError(f"table {self.key}: cells do not match its rows and columns")

    def row_total(self, i: int) -> int:
        return sum(self.cells[i])

    def column_total(self, j: int) -> int:
        return sum(row[j] for row in self.cells)

    def grand_total(self) -> int:
        return sum(sum(row) for row in self.cells)


@dataclass(frozen=True)
class PartnerTiming:
    """How fast one partner accepted the referrals it received in the month: minutes from the
    request to the acceptance, over the referrals it accepted."""

    partner: Label  # code = the partner's slug, id/en = its name
    accepted: int
    median_minutes: float | None
    p90_minutes: float | None
    overdue_percent: float | None  # of the referrals it received, those that went overdue
    received: int | None = None  # referrals it received in the month (the overdue share's base)


@dataclass(frozen=True)
class MonthlyReport:
    """One month of one kecamatan (months in WITA, the kecamatan's own time)."""

    month: str  # "2026-11"
    kecamatan: Label  # code = the Kemendagri code, e.g. 64.71.04
    generated_at: dt.datetime
    tables: tuple[Table, ...]
    timings: tuple[PartnerTiming, ...]
    trend: Table  # the last twelve months (rows) ending with `month`: no totals
    notes: tuple[Label, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        for table in (*self.tables, self.trend):
            if table.key == key:
                return table
        raise KeyError(key)


@dataclass(frozen=True)
class SimfoniRow:
    """One victim of one case, shaped as SIMFONI-PPA records it, without a name (simfoni.py)."""

    case_reference: str
    victim_number: int  # 1, 2, ... within the case
    reported_on: dt.date  # WITA
    incident_date: dt.date | None
    kelurahan_code: str
    kelurahan_name: str
    place: str  # contract code (Place)
    violence_forms: tuple[str, ...]  # contract codes (ViolenceForm)
    victim_sex: str  # contract code (Sex)
    victim_age_group: str  # contract code (AgeGroup)
    victim_is_child: bool
    perpetrator_relationship: str | None  # contract code (PerpetratorRelationship)
    perpetrator_sex: str | None
    perpetrator_is_child: bool | None
    services_needed: tuple[str, ...]  # contract codes (Service)
    services_referred: tuple[str, ...]  # services some partner accepted
    outcome: str | None  # contract code (CaseOutcome) once closed
