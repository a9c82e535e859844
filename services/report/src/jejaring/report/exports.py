"""The monthly report rendered: JSON (the API), and the exports that leave the coordinator —
CSV, XLSX and the PDF for the kecamatan forum — always with small numbers suppressed.

CSV: one file, one section per table (its title line, a header, its rows, its total row, a
blank line); UTF-8 with a BOM so that Excel reads it as UTF-8; the separator is ";" because
Excel in an Indonesian locale uses "," as the decimal separator and ";" as its list separator,
so a comma-separated file would open in one column there (docs/decisions.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jejaring.report import charts
from jejaring.report.model import Label, MonthlyReport
from jejaring.report.suppression import (
    ShownTable,
    ShownTiming,
    exact,
    shown,
    timing_exact,
    timing_shown,
    trend_shown,
)
from jejaring.shared.contract.enums import Lang

if TYPE_CHECKING:
    from fpdf import FPDF

WITA = ZoneInfo("Asia/Makassar")
FONTS = Path(__file__).parent / "fonts"
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip
WORDS: dict[str, dict[Lang, str]] = {
    "title": {"id": "Laporan Bulanan PPATBM", "en": "PPATBM Monthly Report"},
    "kecamatan": {"id": "Kecamatan", "en": "Kecamatan"},
    "total": {"id": "Jumlah", "en": "Total"},
    "summary": {"id": "Ringkasan", "en": "Summary"},
    "timings": {"id": "Waktu respons", "en": "Response times"},
    "trend": {"id": "Tren", "en": "Trend"},
    "partner": {"id": "Mitra", "en": "Partner"},
    "accepted": {"id": "Diterima", "en": "Accepted"},
    "median": {"id": "Median (menit)", "en": "Median (minutes)"},
    "p90": {"id": "Persentil 90 (menit)", "en": "90th percentile (minutes)"},
    "overdue": {"id": "Terlambat (%)", "en": "Overdue (%)"},
    "generated": {"id": "Dibuat", "en": "Generated"},
    "month": {"id": "Bulan", "en": "Month"},
    "table": {"id": "Tabel", "en": "Table"},
    "unit": {"id": "Satuan", "en": "Unit"},
    "footnote": {
        "id": 'Angka kecil dilindungi: "<3" berarti 1 atau 2; "x" berarti angka yang '
        "disembunyikan (di dalam tabel: 3 atau lebih; pada jumlah: 1 atau lebih) agar angka "
        '"<3" tidak dapat dihitung dari jumlahnya. "–" pada waktu respons: kurang dari 3 '
        "rujukan.",
        "en": 'Small numbers are protected: "<3" means 1 or 2; "x" means a hidden number (in '
        'the table: 3 or more; in a total: 1 or more) so that a "<3" cannot be worked out from '
        'the totals. "–" in the response times: fewer than 3 referrals.',
    },
}


def word(key: str, lang: Lang) -> str:
    return WORDS[key][lang]


def month_name(month: str, lang: Lang) -> str:
    year, number = month.split("-")
    return f"{MONTHS[lang][int(number) - 1]} {year}"


def title_of(report: MonthlyReport, lang: Lang) -> str:
    return (
        f"{word('title', lang)} — {word('kecamatan', lang)} {report.kecamatan.text(lang)} — "
        f"{month_name(report.month, lang)}"
    )


def generated_text(report: MonthlyReport, lang: Lang) -> str:
    local = report.generated_at.astimezone(WITA)
    return f"{local.day} {MONTHS[lang][local.month - 1]} {local.year} {local:%H:%M} WITA"


@dataclass(frozen=True)
class View:
    """The report as one reader sees it: exact (the coordinator) or suppressed."""

    report: MonthlyReport
    exact: bool
    tables: tuple[ShownTable, ...]
    timings: tuple[ShownTiming, ...]
    trend: ShownTable

    def table(self, key: str) -> ShownTable:
        for view in (*self.tables, self.trend):
            if view.key == key:
                return view
        raise KeyError(key)


def view_of(report: MonthlyReport, *, exact_numbers: bool) -> View:
    if exact_numbers:
        return View(
            report,
            True,
            tuple(exact(t) for t in report.tables),
            tuple(timing_exact(t) for t in report.timings),
            exact(report.trend),
        )
    return View(
        report,
        False,
        tuple(shown(t) for t in report.tables),
        tuple(timing_shown(t) for t in report.timings),
        trend_shown(report.trend),
    )


# JSON ----------------------------------------------------------------------------------------


def _label(label: Label | None) -> dict[str, str] | None:
    return None if label is None else {"code": label.code, "id": label.id, "en": label.en}


def _number(text: str | None, exact_numbers: bool) -> int | str | None:
    if text is None:
        return None
    return int(text) if exact_numbers else text


def _table_json(view: ShownTable, exact_numbers: bool) -> dict[str, Any]:
    t = view.table

    def numbers(texts: tuple[str, ...] | None) -> list[int | str | None] | None:
        return None if texts is None else [_number(s, exact_numbers) for s in texts]

    return {
        "key": t.key,
        "title": _label(t.title),
        "unit": _label(t.unit),
        "rows": [_label(r) for r in t.rows],
        "columns": [_label(c) for c in t.columns],
        "cells": [numbers(row) for row in view.cells],
        "row_totals": numbers(view.row_totals),
        "column_totals": numbers(view.column_totals),
        "grand_total": _number(view.grand_total, exact_numbers),
        "note": _label(t.note),
    }


def as_json(view: View) -> dict[str, Any]:
    report = view.report
    return {
        "month": report.month,
        "kecamatan": _label(report.kecamatan),
        "generated_at": report.generated_at.isoformat(),
        "exact": view.exact,
        "tables": [_table_json(t, view.exact) for t in view.tables],
        "timings": [
            {
                "partner": _label(t.partner),
                "accepted": _number(t.accepted, view.exact),
                "median_minutes": t.median_minutes,
                "p90_minutes": t.p90_minutes,
                "overdue_percent": t.overdue_percent,
            }
            for t in view.timings
        ],
        "trend": _table_json(view.trend, view.exact),
        "notes": [_label(n) for n in report.notes],
    }


# Tabular layout shared by CSV, XLSX and PDF ---------------------------------------------------


def grid(view: ShownTable, lang: Lang) -> list[list[str]]:
    """The table as rows of text: a header, its rows (with their total), its total row."""
    t = view.table
    header = ["", *(c.text(lang) for c in t.columns)]
    if view.row_totals is not None:
        header.append(word("total", lang))
    lines = [header]
    for i, row in enumerate(t.rows):
        line = [row.text(lang), *view.cells[i]]
        if view.row_totals is not None:
            line.append(view.row_totals[i])
        lines.append(line)
    if view.column_totals is not None:
        line = [word("total", lang), *view.column_totals]
        if view.row_totals is not None:
            line.append(view.grand_total or "")
        lines.append(line)
    return lines


def decimal(value: float | None, lang: Lang) -> str:
    if value is None:
        return "–"
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "id" else text


def timing_grid(view: View, lang: Lang) -> list[list[str]]:
    header = [word(k, lang) for k in ("partner", "accepted", "median", "p90", "overdue")]
    return [header] + [
        [
            t.partner.text(lang),
            t.accepted,
            decimal(t.median_minutes, lang),
            decimal(t.p90_minutes, lang),
            decimal(t.overdue_percent, lang),
        ]
        for t in view.timings
    ]


def summary_lines(view: View, lang: Lang) -> list[list[str]]:
    report = view.report
    lines = [
        [word("title", lang), title_of(report, lang)],
        [word("kecamatan", lang), f"{report.kecamatan.text(lang)} ({report.kecamatan.code})"],
        [word("month", lang), report.month],
        [word("generated", lang), generated_text(report, lang)],
    ]
    for t in view.tables:
        lines.append([t.table.title.text(lang), t.grand_total or ""])
    lines += [[note.text(lang), ""] for note in report.notes]
    lines.append([word("footnote", lang), ""])
    return lines


def sections(view: View, lang: Lang) -> Iterator[tuple[str, str, list[list[str]]]]:
    """(key, title, rows) of every part of the report, in order."""
    for t in view.tables:
        yield t.key, t.table.title.text(lang), grid(t, lang)
    yield "timings", word("timings", lang), timing_grid(view, lang)
    yield view.trend.key, view.trend.table.title.text(lang), grid(view.trend, lang)


# CSV -----------------------------------------------------------------------------------------


def to_csv(view: View, lang: Lang = "id") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([title_of(view.report, lang)])
    writer.writerow([f"{word('generated', lang)}: {generated_text(view.report, lang)}"])
    writer.writerow([word("footnote", lang)])
    writer.writerow([])
    for key, title, rows in sections(view, lang):
        writer.writerow([f"# {key}", title])
        writer.writerows(rows)
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# XLSX ----------------------------------------------------------------------------------------


def _cell(text: str) -> int | str:
    """A number is written as a number, so that Excel can add it up; "<3" and "x" as text."""
    return int(text) if text.isdigit() else text


def sheet_name(title: str, taken: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    base, k = name, 2
    while name in taken:
        name = f"{base[:28]} {k}"
        k += 1
    taken.add(name)
    return name


def to_xlsx(view: View, lang: Lang = "id") -> bytes:
    from openpyxl import Workbook  # when asked for (LAZY below)

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = word("summary", lang)
    taken = {summary.title}
    for line in summary_lines(view, lang):
        summary.append([_cell(s) for s in line])
    summary.column_dimensions["A"].width = 48
    for key, title, rows in sections(view, lang):
        if key == "timings":
            name = word("timings", lang)
        elif key == view.trend.key:
            name = word("trend", lang)
        else:
            name = key
        sheet = book.create_sheet(sheet_name(name, taken))
        sheet.append([title])
        for row in rows:
            sheet.append([_cell(s) for s in row])
        sheet.column_dimensions["A"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# PDF -----------------------------------------------------------------------------------------


# LAZY: fpdf2 (with numpy under it) and openpyxl are imported when the first PDF or workbook
# is made, not when the service starts: they were a third of report's start-up (0.4 of 1.4 s
# of CPU, on two cores shared by the whole stack) and of its memory, for a monthly export.


def _new_pdf(footer_text: str) -> FPDF:
    from fpdf import FPDF

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-13)
            self.set_font("DejaVu", size=7)
            self.cell(0, 5, f"{footer_text} — {self.page_no()}", align="C")

    pdf = Pdf(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_font("DejaVu", size=9)
    pdf.set_auto_page_break(True, margin=18)
    return pdf


def _pdf_table(pdf: FPDF, rows: list[list[str]]) -> None:
    pdf.set_font("DejaVu", size=7.5)
    pdf.set_fill_color(235, 235, 235)
    pdf.set_draw_color(0, 0, 0)
    first = 52.0
    columns = len(rows[0])
    rest = (pdf.epw - first) / max(columns - 1, 1)
    widths = (first, *([rest] * (columns - 1)))
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *(["RIGHT"] * (columns - 1))),
        line_height=4.2,
        first_row_as_headings=True,
    ) as table:
        for line in rows:
            row = table.row()
            for text in line:
                row.cell(text)


def to_pdf(view: View, lang: Lang = "id") -> bytes:
    report = view.report
    title = title_of(report, lang)
    pdf = _new_pdf(f"{title} — {word('generated', lang)} {generated_text(report, lang)}")
    pdf.set_title(title)
    pdf.set_lang("id-ID" if lang == "id" else "en")
    pdf.set_creator("Jejaring")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8.5)
    pdf.multi_cell(
        0,
        5,
        f"{word('generated', lang)}: {generated_text(report, lang)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.multi_cell(0, 4.5, word("footnote", lang), align="L", new_x="LMARGIN", new_y="NEXT")
    for note in report.notes:
        pdf.multi_cell(0, 4.5, note.text(lang), new_x="LMARGIN", new_y="NEXT")
    for key, heading, rows in sections(view, lang):
        chart_view = None if key == "timings" else view.table(key)
        needed = 10 + 4.5 * len(rows) + (80 if chart_view else 0)
        if pdf.get_y() + min(needed, 150) > pdf.h - 20:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        if chart_view is not None:
            unit = chart_view.table.unit.text(lang)
            pdf.set_font("DejaVu", size=7.5)
            pdf.multi_cell(0, 4, f"{word('unit', lang)}: {unit}", new_x="LMARGIN", new_y="NEXT")
        _pdf_table(pdf, rows)
        if chart_view is not None and chart_view.table.rows:
            if pdf.get_y() + 80 > pdf.h - 20:
                pdf.add_page()
            top = pdf.get_y() + 2
            height = charts.draw(pdf, chart_view, lang, x=pdf.l_margin, y=top, width=160)
            pdf.set_y(top + height + 2)
        if chart_view is not None and chart_view.table.note is not None:
            pdf.set_font("DejaVu", size=7.5)
            pdf.multi_cell(0, 4, chart_view.table.note.text(lang), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def file_name(month: str, extension: str) -> str:
    return f"laporan-ppatbm-{month}.{extension}"


def now_wita() -> dt.datetime:
    return dt.datetime.now(WITA)
