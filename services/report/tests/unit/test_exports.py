"""The exports of a known report: what a reader of the XLSX, the CSV and the printed PDF sees."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl

from jejaring.report import charts, exports, simfoni
from jejaring.report.model import Label, MonthlyReport, PartnerTiming, SimfoniRow, Table
from jejaring.shared.contract.enums import AgeGroup, Sex, ViolenceForm


def known_report() -> MonthlyReport:
    ages = (AgeGroup.A0_5, AgeGroup.A6_12, AgeGroup.A13_17, AgeGroup.A25_44)
    by_age_sex = Table(
        key="victims_by_age_sex",
        title=Label(
            "victims_by_age_sex", "Korban menurut umur dan jenis kelamin", "Victims by age and sex"
        ),
        unit=Label("victims", "korban", "victims"),
        rows=tuple(Label.of(a) for a in ages),
        columns=(Label.of(Sex.FEMALE), Label.of(Sex.MALE)),
        cells=((1, 4), (6, 5), (17, 12), (23, 0)),
    )
    by_form = Table(
        key="victims_by_form",
        title=Label("victims_by_form", "Korban menurut bentuk kekerasan", "Victims by form"),
        unit=Label("victims", "korban", "victims"),
        rows=(
            Label("64.71.04.1001", "Gunung Sari Ilir", "Gunung Sari Ilir"),
            Label("64.71.04.1002", "Karang Rejo", "Karang Rejo"),
        ),
        columns=tuple(Label.of(f) for f in (ViolenceForm.PHYSICAL, ViolenceForm.SEXUAL)),
        cells=((9, 2), (14, 8)),
        row_totals=False,
    )
    months = [f"2026-{m:02d}" for m in range(1, 12)] + ["2026-11"]
    trend = Table(
        key="trend",
        title=Label("trend", "Tren dua belas bulan", "Twelve-month trend"),
        unit=Label("cases", "kasus", "cases"),
        rows=tuple(Label(m, m, m) for m in months[:-1]),
        columns=(Label("cases", "Kasus", "Cases"),),
        cells=tuple((k % 5,) for k in range(11)),
        row_totals=False,
        column_totals=False,
    )
    return MonthlyReport(
        month="2026-11",
        kecamatan=Label("64.71.04", "Balikpapan Tengah", "Balikpapan Tengah"),
        generated_at=dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC),
        tables=(by_age_sex, by_form),
        timings=(
            PartnerTiming(
                Label("uptd-ppa", "UPTD PPA Kota Balikpapan", "UPTD PPA"),
                14,
                42.0,
                95.5,
                7.1,
                received=14,
            ),
            PartnerTiming(Label("lbh", "LBH APIK", "LBH APIK"), 2, 30.0, 30.0, 0.0, received=2),
        ),
        trend=trend,
    )


def suppressed() -> exports.View:
    return exports.view_of(known_report(), exact_numbers=False)


def test_the_xlsx_has_a_sheet_per_table_and_the_suppressed_numbers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(suppressed())))
    assert book.sheetnames == [
        "Ringkasan",
        "victims_by_age_sex",
        "victims_by_form",
        "Waktu respons",
        "Tren",
    ]
    sheet = book["victims_by_age_sex"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1] == [None, "Perempuan", "Laki-laki", "Jumlah"]
    assert rows[2][1] == "<3"  # 1 girl of 0-5
    assert rows[5] == ["25-44 tahun", 23, 0, 23]
    cells = [v for row in rows[2:] for v in row[1:]]
    assert 1 not in cells and 2 not in cells
    timing = [[c.value for c in row] for row in book["Waktu respons"].iter_rows()]
    assert timing[2] == ["UPTD PPA Kota Balikpapan", 14, "42,0", "95,5", "7,1"]
    assert timing[3] == ["LBH APIK", "<3", "–", "–", "–"]


def test_the_csv_is_utf8_with_a_bom_and_semicolons() -> None:
    body = exports.to_csv(suppressed())
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "Laporan Bulanan PPATBM — Kecamatan Balikpapan Tengah — November 2026" in text
    assert "25-44 tahun;23;0;23" in text
    assert ";1;" not in text and ";2;" not in text


def test_the_pdf_renders_with_its_title_numbers_and_footnote(tmp_path: Path) -> None:
    report_pdf = tmp_path / "laporan.pdf"
    report_pdf.write_bytes(exports.to_pdf(suppressed()))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(report_pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 5000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(report_pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Laporan Bulanan PPATBM — Kecamatan Balikpapan Tengah — November 2026" in text
    assert "1 Desember 2026 09:30 WITA" in text
    assert "23" in text and "<3" in text
    words = " ".join(text.split())
    assert '"<3" berarti 1 atau 2' in words and "pada jumlah: 1 atau lebih" in words
    assert "UPTD PPA Kota Balikpapan" in text


def test_the_chart_is_an_accessible_svg_of_the_shown_numbers() -> None:
    view = suppressed().table("victims_by_age_sex")
    svg = charts.svg(view, "en")
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.find(f"{ns}title").text == "Victims by age and sex"  # type: ignore[union-attr]
    assert "0-5 years: Female <3, Male x" in root.find(f"{ns}desc").text  # type: ignore[union-attr]
    bars = root.findall(f"{ns}rect")
    heights = {
        r.find(f"{ns}title").text: float(r.get("height", 0))
        for r in bars
        if r.find(f"{ns}title") is not None
    }  # type: ignore[union-attr]
    assert heights["<3"] == 0 and heights["23"] > heights["17"]


def test_the_simfoni_export_has_one_row_per_victim_with_simfoni_labels() -> None:
    row = SimfoniRow(
        case_reference="BPT-2026-0007",
        victim_number=1,
        reported_on=dt.date(2026, 11, 3),
        incident_date=None,
        kelurahan_code="64.71.04.1001",
        kelurahan_name="Gunung Sari Ilir",
        place="household",
        violence_forms=("physical", "psychological"),
        victim_sex="female",
        victim_age_group="13-17",
        victim_is_child=True,
        perpetrator_relationship="parent",
        perpetrator_sex="male",
        perpetrator_is_child=False,
        services_needed=("health", "counselling", "shelter"),
        services_referred=("health",),
        outcome=None,
    )
    book = openpyxl.load_workbook(io.BytesIO(simfoni.to_xlsx([row])))
    rows = [[c.value for c in r] for r in book["SIMFONI-PPA"].iter_rows()]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Jenis Kekerasan"] == "Fisik; Psikis"
    assert record["Tempat Kejadian"] == "Rumah Tangga"
    assert record["Hubungan Pelaku dengan Korban"] == "Orang Tua"
    assert record["Layanan yang Dibutuhkan"] == "Kesehatan; Rehabilitasi Sosial"
    text = simfoni.to_csv([row]).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("BPT-2026-0007;1;2026-11-03;;64.71.04.1001")
