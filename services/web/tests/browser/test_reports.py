"""The monthly report in a real browser on a phone, against the real report service fed by the
real streams: the coordinator sees last month's exact counts, the charts and downloads the PDF,
the XLSX and the SIMFONI-PPA export; an officer sees small numbers hidden; partner staff have no
report; a bad month and a report service that is down each get a page that says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from jejaring.testing import THREE_WAY_CASE, wait_status

from .conftest import GUNUNG_SARI_ILIR, Phone, Stack, wait_until
from .test_officer import sign_in

WITA = ZoneInfo("Asia/Makassar")
FORMS = "victims_by_form_sex"
AGE_SEX = "victims_by_age_sex"


def _last_month() -> tuple[str, str]:
    """Last WITA month as "YYYY-MM", and a moment in it to report cases at."""
    first = dt.datetime.now(WITA).date().replace(day=1)
    day = first - dt.timedelta(days=20)
    return f"{day:%Y-%m}", f"{day:%Y-%m-%d}T09:00:00+08:00"


def _record(stack: Stack, token: str, **changes: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/cases",
        json={**THREE_WAY_CASE, "kelurahan_code": GUNUNG_SARI_ILIR, **changes},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    return case


def cell(page: Page, key: str, row: str, column: str) -> str:
    """The text of one cell of the report table `key`, found by its row and column headers."""
    text: str = page.evaluate(
        """([id, row, column]) => {
            const table = document.getElementById(id);
            if (!table) return "no table";
            const heads = [...table.tHead.rows[0].cells].map(c => c.textContent.trim());
            const j = heads.indexOf(column);
            const tr = [...table.tBodies[0].rows].find(r => r.cells[0].textContent.trim() === row);
            return j < 0 || !tr ? "no cell" : tr.cells[j].textContent.trim();
        }""",
        [f"table-{key}", row, column],
    )
    return text


@pytest.fixture(scope="module")
def recorded(stack: Stack) -> dict[str, Any]:
    """Last month: four adult women hurt physically, one girl sexually abused (one case)."""
    month, at = _last_month()
    officer = stack.ready_officer(GUNUNG_SARI_ILIR)
    token = stack.token(officer["login"])
    cases = [_record(stack, token, reported_at=at) for _ in range(4)]
    cases.append(
        _record(
            stack,
            token,
            reported_at=at,
            violence_forms=["sexual"],
            victims=[{"name": "Anak Uji", "sex": "female", "age": 10}],
            consent={**THREE_WAY_CASE["consent"], "given_by": "guardian"},
        )
    )
    return {"month": month, "officer": officer, "cases": cases}


def test_the_coordinator_reads_last_months_report_and_downloads_it(
    stack: Stack, phone: Phone, recorded: dict[str, Any], tmp_path: Path
) -> None:
    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    page = sign_in(phone, coordinator["login"])
    page.get_by_role("navigation", name="Halaman koordinator").get_by_role(
        "link", name="Laporan bulanan"
    ).click()
    phone.fits()
    expect(page.get_by_role("heading", name="Laporan bulanan", level=1)).to_be_visible()
    # the picker opens at last month, a whole one
    expect(page.get_by_label("Bulan", exact=True)).to_have_value(recorded["month"])

    def counted() -> bool:
        phone.goto(f"/reports/monthly?month={recorded['month']}")
        return cell(page, FORMS, "Fisik", "Perempuan") == "4"

    wait_until(counted, timeout=60)
    assert cell(page, FORMS, "Seksual", "Perempuan") == "1", "the coordinator sees exact numbers"
    assert cell(page, AGE_SEX, "25-44 tahun", "Perempuan") == "4"
    assert cell(page, AGE_SEX, "6-12 tahun", "Jumlah") == "1"
    table = page.locator(f"#table-{AGE_SEX}")
    expect(table.locator("caption")).to_have_text(
        "Korban per kelompok umur dan jenis kelamin (Korban)"
    )
    expect(table.locator("tfoot th[scope=row]")).to_have_text("Jumlah")
    expect(page.locator(".notice--warning")).to_contain_text("hanya untuk koordinator")
    # the charts, inline and plain: the trend, the forms and the age x sex tables
    for key in ("trend", FORMS, AGE_SEX):
        chart = page.locator(f"#{key} figure.chart svg")
        expect(chart).to_be_visible()
        assert chart.locator("rect").count() > 0, key
        assert page.locator(f"#{key} figure.chart script").count() == 0
    expect(page.locator("#timings-heading")).to_be_visible()
    phone.shot("report-month")
    # one phone screen, as she sees it scrolled to the forms of violence (the README's picture)
    page.locator(f"#{FORMS} h2").evaluate("heading => heading.scrollIntoView()")
    phone.shot("report-month-screen", full_page=False)
    # printed, the page is the report alone: no navigation, picker or buttons, tables whole
    page.emulate_media(media="print")
    for hidden in (".header__nav", ".report__picker", ".report__downloads", ".footer"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator(f"#table-{FORMS}")).to_be_visible()
    assert page.locator(".table-scroll").first.evaluate("e => getComputedStyle(e).overflowX") == (
        "visible"
    )
    page.emulate_media(media="screen")

    with page.expect_download() as pdf:
        page.get_by_role("link", name="PDF (untuk dicetak)").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    assert pdf.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="XLSX (Excel)").click()
    assert Path(xlsx.value.path()).read_bytes().startswith(b"PK")  # a zip: an XLSX workbook
    with page.expect_download() as simfoni:
        page.get_by_role("link", name="SIMFONI-PPA (CSV)").click()
    rows = Path(simfoni.value.path()).read_text(encoding="utf-8-sig")
    for case in recorded["cases"]:
        assert case["reference"] in rows
    assert "Anak Uji" not in rows, "the SIMFONI-PPA export holds no name"

    # the downloads pass on the report service's file name, and nothing is kept
    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    answer = httpx.get(
        f"{phone.base}/reports/monthly.csv", params={"month": recorded["month"]}, cookies=cookies
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"].startswith("attachment")

    # in English
    page.get_by_role("link", name="English").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Monthly report", level=1)).to_be_visible()
    assert cell(page, FORMS, "Physical", "Female") == "4"
    phone.shot("report-month-en")
    page.get_by_role("link", name="Bahasa Indonesia").click()

    for url, headers in phone.documents:
        if "/static/" not in url:
            assert headers.get("cache-control") == "no-store", url
    assert phone.console_errors == []


def test_an_officer_sees_small_numbers_hidden(
    stack: Stack, phone: Phone, recorded: dict[str, Any]
) -> None:
    page = sign_in(phone, recorded["officer"]["login"])
    page.get_by_role("link", name="Laporan bulanan kecamatan").click()
    phone.fits()

    def counted() -> bool:
        phone.goto(f"/reports/monthly?month={recorded['month']}")
        return cell(page, FORMS, "Fisik", "Perempuan") == "4"

    wait_until(counted, timeout=60)
    assert cell(page, FORMS, "Seksual", "Perempuan") == "<3"
    assert cell(page, AGE_SEX, "6-12 tahun", "Perempuan") == "<3"
    note = page.locator("#suppression-note")
    expect(note).to_contain_text("berarti 1 atau 2")
    expect(note).to_contain_text("x")
    expect(page.get_by_role("link", name="SIMFONI-PPA (CSV)")).to_have_count(0)
    assert "1" not in cell(page, FORMS, "Seksual", "Perempuan")
    phone.shot("report-month-officer")
    # the SIMFONI-PPA export is the coordinator's only
    phone.goto(f"/reports/simfoni.csv?month={recorded['month']}")
    expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()


def test_partner_staff_have_no_report(stack: Stack, phone: Phone) -> None:
    person = stack.ready_person("partner_staff", name="Ibu Sari", partner_slug="bikksa-mentari")
    page = sign_in(phone, person["login"])
    expect(page.get_by_role("link", name="Laporan bulanan")).to_have_count(0)
    for path in ("/reports/monthly", "/reports/monthly.pdf?month=2026-01"):
        answer = page.goto(phone.base + path)
        assert answer is not None and answer.status == 404, path
        expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()


def test_a_bad_month_and_a_report_service_that_is_down(stack: Stack, phone: Phone) -> None:
    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    page = sign_in(phone, coordinator["login"])
    answer = page.goto(phone.base + "/reports/monthly?month=2026-13")
    assert answer is not None and answer.status == 400
    phone.fits()
    expect(page.get_by_role("alert")).to_contain_text("Bulan di alamat halaman tidak dikenal")
    expect(page.get_by_label("Bulan", exact=True)).to_be_visible()
    expect(page.locator("table")).to_have_count(0)

    stack.procs["report"].terminate()
    stack.procs["report"].wait(timeout=15)
    try:
        answer = page.goto(phone.base + "/reports/monthly")
        assert answer is not None and answer.status == 503
        phone.fits()
        expect(page.get_by_role("alert")).to_contain_text(
            "Layanan laporan sedang tidak dapat dihubungi"
        )
        expect(page.get_by_label("Bulan", exact=True)).to_be_visible()
        phone.shot("report-unavailable")
    finally:
        stack.start("report")
        wait_status(stack.ports["report"], 200, timeout=60)
