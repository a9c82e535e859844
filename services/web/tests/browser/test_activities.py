"""The case's activities in a real browser on a phone (issue 20, items 1 and 2): an officer
records an accompaniment and a mediation agreement on her case page and sees them on the
timeline, newest first; a mediation on a sexual-violence case is refused with the reason
beside the kind of activity, and nothing is recorded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from jejaring.web.messages import month

from .conftest import GUNUNG_SARI_ILIR, SCREENSHOTS, Phone, Stack
from .test_coordinator import _record as record
from .test_officer import sign_in

NOTE = "Didampingi ke unit PPA Polresta untuk membuat laporan; korban tenang."
WITA = ZoneInfo("Asia/Makassar")


def _day(date: dt.date) -> str:
    return f"{date.day} {month(date.month, 'id')} {date.year}"


def _add(page: Page, *, kind: str, on: dt.date, note: str) -> None:
    section = page.locator("#activities")
    if not section.get_by_label("Jenis kegiatan").is_visible():
        section.get_by_text("Catat kegiatan").click()
    section.get_by_label("Jenis kegiatan").select_option(label=kind)
    section.get_by_label("Tanggal kegiatan").fill(on.isoformat())
    section.get_by_label("Catatan singkat").fill(note)


def test_an_officer_records_activities_and_a_mediation_agreement_on_the_timeline(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR, name="Ibu Wulan")
    case = record(stack, officer["login"], kelurahan_code=GUNUNG_SARI_ILIR)
    today = dt.datetime.now(WITA).date()
    yesterday = today - dt.timedelta(days=1)
    due = yesterday + dt.timedelta(days=14)

    sign_in(phone, officer["login"])
    page = phone.goto(f"/cases/{case['id']}")
    section = page.locator("#activities")
    expect(section.get_by_role("heading", name="Kegiatan")).to_be_visible()
    expect(section.get_by_text("Belum ada kegiatan yang dicatat.")).to_be_visible()

    _add(page, kind="Pendampingan", on=yesterday - dt.timedelta(days=1), note=NOTE)
    # the place is asked for an accompaniment only; the mediation's inputs are not shown
    expect(section.get_by_label("Hasil mediasi")).to_be_hidden()
    section.get_by_label("Tempat pendampingan").select_option(label="Polisi")
    phone.fits()
    section.get_by_role("button", name="Simpan kegiatan").click()
    phone.fits()
    expect(section.get_by_text("Kegiatan disimpan.")).to_be_visible()

    _add(page, kind="Sesi mediasi", on=yesterday, note="Kedua pihak sepakat berdamai.")
    expect(section.get_by_label("Tempat pendampingan")).to_be_hidden()
    section.get_by_label("Hasil mediasi").select_option(label="Sepakat")
    section.get_by_label("Tanggal kunjungan tindak lanjut").fill(due.isoformat())
    section.get_by_role("button", name="Simpan kegiatan").click()
    phone.fits()

    steps = section.locator(".timeline__step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Sesi mediasi")
    expect(steps.nth(0)).to_contain_text("Hasil mediasi: Sepakat")
    expect(steps.nth(0)).to_contain_text(f"Kunjungan tindak lanjut: {_day(due)}")
    expect(steps.nth(0)).to_contain_text(_day(yesterday))
    expect(steps.nth(1)).to_contain_text("Pendampingan: Polisi")
    expect(steps.nth(1)).to_contain_text(NOTE)
    expect(steps.nth(1)).to_contain_text("Dicatat oleh Ibu Wulan")

    # the section as the README shows it: the timeline and the form, a mediation chosen
    section.get_by_text("Catat kegiatan").click()
    section.get_by_label("Jenis kegiatan").select_option(label="Sesi mediasi")
    section.get_by_label("Hasil mediasi").select_option(label="Sepakat")
    expect(section.get_by_label("Tanggal kunjungan tindak lanjut")).to_be_visible()
    phone.fits()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SCREENSHOTS / "casework-activities.png"))
    assert not phone.console_errors, phone.console_errors


def test_a_mediation_on_a_sexual_violence_case_is_refused_beside_the_kind(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR, name="Ibu Wulan")
    case = record(
        stack,
        officer["login"],
        kelurahan_code=GUNUNG_SARI_ILIR,
        violence_forms=["sexual"],
        needs=["counselling"],
        consent={"given_by": "victim", "scope": ["counselling"]},
    )
    yesterday = dt.datetime.now(WITA).date() - dt.timedelta(days=1)

    sign_in(phone, officer["login"])
    page = phone.goto(f"/cases/{case['id']}")
    _add(page, kind="Sesi mediasi", on=yesterday, note="Keluarga meminta mediasi.")
    section = page.locator("#activities")
    section.get_by_label("Hasil mediasi").select_option(label="Tidak sepakat")
    section.get_by_role("button", name="Simpan kegiatan").click()
    phone.fits()

    reason = "Mediasi tidak boleh untuk kasus kekerasan seksual"
    expect(page.locator(".error-summary")).to_contain_text(reason)
    expect(page.locator("#activity-kind-error")).to_contain_text(reason)
    # what was typed is kept, and nothing was recorded
    expect(section.get_by_label("Catatan singkat")).to_have_value("Keluarga meminta mediasi.")
    expect(section.get_by_text("Belum ada kegiatan yang dicatat.")).to_be_visible()
    section.screenshot(path=str(SCREENSHOTS / "casework-activities-refused.png"))
    assert not phone.console_errors, phone.console_errors
