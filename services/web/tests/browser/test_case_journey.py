"""A case from report to close, in a real browser on a phone (issue 20, "done when"): a
volunteer records a case through the pages, accompanies the victim (an activity), plans the
follow-up, attaches the proof of inability to pay, sees a late task where the coordinator sees
it too, finishes it and closes the case; everything on the full stack (intake, referral,
notify, web, a real nats-server), nothing by API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from .conftest import GUNUNG_SARI_ILIR, Phone, Stack
from .test_officer import (
    VICTIM,
    assert_no_victim_name_in_title_or_url,
    consent,
    cont,
    needs,
    perpetrator,
    sign_in,
    victim,
)

WITA = ZoneInfo("Asia/Makassar")
NOTE = "Mendampingi korban membuat laporan di unit PPA."
TASK = "Kunjungan rumah setelah laporan polisi"
PKH = b"%PDF-1.7\nKartu PKH\n%%EOF\n"


def test_a_volunteer_runs_a_case_from_report_to_close_and_the_coordinator_sees_late_work(
    stack: Stack, phone: Phone, second_phone: Phone, tmp_path: Path
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR, name="Ibu Sari")
    page = sign_in(phone, officer["login"])
    today = dt.datetime.now(WITA).date()

    # the report, typed in three days after it was made (a paper form brought in later)
    page.get_by_role("link", name="Catat kasus baru").click()
    reported = page.get_by_label("Waktu laporan (WITA)")
    reported.fill(f"{(today - dt.timedelta(days=3)).isoformat()}T09:30")
    page.get_by_label("Tanggal kejadian (bila diketahui)").fill(
        (today - dt.timedelta(days=4)).isoformat()
    )
    page.get_by_label("Rumah Tangga").check()
    page.get_by_label("Fisik", exact=True).check()
    page.get_by_label("Sedang", exact=True).check()
    page.get_by_label("Tetangga").check()
    cont(phone)
    victim(phone, birth_date="2014-05-01")
    perpetrator(phone, "Orang Tua")
    needs(phone, ["Perlindungan Kepolisian", "Bantuan Hukum"])
    consent(phone, "Wali/Orang Tua", ["Kepolisian", "Bantuan Hukum"])
    expect(page.get_by_role("heading", name="Bukti tidak mampu")).to_be_visible()
    page.get_by_label("Kartu PKH").check()
    cont(phone)
    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    reference = page.locator(".panel__body strong").inner_text()
    case_url = page.url

    # the accompaniment, on the case's timeline
    activities = page.locator("#activities")
    if not activities.get_by_label("Jenis kegiatan").is_visible():
        activities.get_by_text("Catat kegiatan").click()
    activities.get_by_label("Jenis kegiatan").select_option(label="Kunjungan rumah")
    activities.get_by_label("Tanggal kegiatan").fill((today - dt.timedelta(days=2)).isoformat())
    activities.get_by_label("Catatan singkat").fill(NOTE)
    activities.get_by_role("button", name="Simpan kegiatan").click()
    phone.fits()
    expect(page.get_by_text("Kegiatan disimpan.")).to_be_visible()
    expect(page.locator("#activities")).to_contain_text(NOTE)

    # the plan: a task that should have been done yesterday
    page.get_by_text("Tambah tugas", exact=True).first.click()
    page.get_by_label("Tugas", exact=True).fill(TASK)
    page.get_by_label("Tanggal jatuh tempo").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Tambah tugas").click()
    phone.fits()
    expect(page.get_by_role("status").first).to_contain_text("Tugas ditambahkan")

    # the proof of inability to pay, for legal aid
    pkh = tmp_path / "kartu-pkh.pdf"
    pkh.write_bytes(PKH)
    page.get_by_label("Jenis lampiran").select_option(label="Kartu PKH")
    page.get_by_label("Berkas").set_input_files(str(pkh))
    page.get_by_role("button", name="Lampirkan berkas").click()
    phone.fits()
    expect(page.get_by_text("Lampiran tersimpan.")).to_be_visible()
    assert_no_victim_name_in_title_or_url(page)

    # late work: on her list and on the coordinator's board, which shows no task text
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Tugas terlambat (1)")).to_be_visible()
    coordinator = stack.ready_person("coordinator", name="Ibu Koordinator")
    board = sign_in(second_phone, coordinator["login"])
    late = board.locator("#late-tasks-heading ~ ul .card", has_text=reference)
    expect(late).to_have_count(1)
    expect(late).not_to_contain_text(TASK)

    # done, then the case closed
    page.goto(case_url)
    page.get_by_role("button", name=f"Tandai selesai: {TASK}").click()
    expect(page.get_by_role("status").first).to_contain_text("Tugas ditandai selesai")
    page.get_by_text("Tutup kasus dengan hasil").click()
    page.get_by_label("Tertangani").check()
    page.get_by_role("button", name="Tutup kasus").click()
    phone.fits()
    expect(page.get_by_text("Ditutup pada")).to_be_visible()
    expect(page.locator("#activities")).to_contain_text(NOTE)  # the work stays on record
    phone.shot("casework-closed-case")
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Tugas terlambat (0)")).to_be_visible()
    second_phone.goto("/board")
    expect(board.locator("#late-tasks-heading ~ ul .card", has_text=reference)).to_have_count(0)
    assert VICTIM not in board.content()
    assert phone.console_errors == [] and second_phone.console_errors == []
