"""The case plan in a real browser on a phone (issue 20, item 3): an officer adds tasks to her
case's plan (a missing field named at the top and beside it), a task due yesterday shows as
overdue on her case list and on the coordinator's board (by kelurahan and officer, without its
text), and marking it done takes it off both. "Yesterday" and "tomorrow" are WITA's dates, as
the services reckon them, whatever the hour the test runs at."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import expect

from jejaring.testing import THREE_WAY_CASE

from .conftest import GUNUNG_SARI_ILIR, Phone, Stack
from .test_officer import sign_in

TITLE = "Mendampingi korban ke Polresta"
GOAL = "Laporan polisi diterima"


def test_an_overdue_task_shows_on_the_officer_s_list_and_the_coordinator_s_board(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR, name="Ibu Ratna")
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/cases",
        json={**THREE_WAY_CASE, "kelurahan_code": GUNUNG_SARI_ILIR},
        headers={"Authorization": f"Bearer {stack.token(officer['login'])}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    today = dt.datetime.now(ZoneInfo("Asia/Makassar")).date()
    page = sign_in(phone, officer["login"])
    expect(page.get_by_role("heading", name="Tugas terlambat (0)")).to_be_visible()
    phone.goto(f"/cases/{case['id']}")
    expect(page.get_by_role("heading", name="Rencana kasus")).to_be_visible()
    expect(page.get_by_text("Belum ada tugas dalam rencana kasus ini.")).to_be_visible()

    # nothing typed: the summary at the top and the field both say what is missing
    page.get_by_text("Tambah tugas", exact=True).first.click()
    page.get_by_role("button", name="Tambah tugas").click()
    phone.fits()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Tulis tugasnya")
    expect(summary).to_contain_text("Isi tanggal jatuh tempo")
    expect(page.locator("#task-title-error")).to_contain_text("Tulis tugasnya")

    for title, goal, due in (
        (TITLE, GOAL, today - dt.timedelta(days=1)),
        ("Telepon korban", "", today + dt.timedelta(days=1)),
    ):
        page.get_by_label("Tugas", exact=True).fill(title)
        page.get_by_label("Tujuan (tidak wajib)").fill(goal)
        page.get_by_label("Tanggal jatuh tempo").fill(due.isoformat())
        # she is responsible herself unless she chooses otherwise
        expect(page.get_by_label("Penanggung jawab")).to_have_value(
            page.locator("#task-responsible option", has_text="Ibu Ratna").get_attribute("value")
            or ""
        )
        page.get_by_role("button", name="Tambah tugas").click()
        phone.fits()
        expect(page.get_by_role("status").first).to_contain_text("Tugas ditambahkan")
        page.get_by_text("Tambah tugas", exact=True).first.click()
    late = page.locator("#plan-heading ~ ul .card", has_text=TITLE)
    expect(late.locator(".tag--overdue")).to_have_text("Terlambat")
    expect(late).to_contain_text(GOAL)
    coming = page.locator("#plan-heading ~ ul .card", has_text="Telepon korban")
    expect(coming.locator(".tag--overdue")).to_have_count(0)

    # her case list: the overdue task first, with its case's reference
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Tugas terlambat (1)")).to_be_visible()
    mine = page.locator("#late-tasks-heading ~ ul .card")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(case["reference"])
    expect(mine).to_contain_text(TITLE)
    phone.shot("casework-plan")

    # the coordinator's board: the kecamatan's overdue work, by kelurahan and officer
    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    board = sign_in(second_phone, coordinator["login"])
    heading = board.get_by_role("heading", name="Tugas terlambat", exact=False)
    expect(heading).to_be_visible()
    place = board.locator("#late-tasks-heading ~ h3", has_text="Kelurahan Gunung Sari Ilir")
    expect(place).to_have_count(1)
    card = board.locator("#late-tasks-heading ~ ul .card", has_text=case["reference"])
    expect(card).to_have_count(1)
    expect(card.locator(".card__title")).to_have_text("Ibu Ratna")
    expect(card).not_to_contain_text(TITLE)  # the board shows no task text
    second_phone.shot("casework-plan-board")
    card.get_by_role("link", name=case["reference"]).click()
    second_phone.fits()
    expect(board.get_by_role("heading", name="Rencana kasus")).to_be_visible()

    # done: off her list and off the board
    phone.goto(f"/cases/{case['id']}")
    page.get_by_role("button", name=f"Tandai selesai: {TITLE}").click()
    phone.fits()
    expect(page.get_by_role("status").first).to_contain_text("Tugas ditandai selesai")
    done = page.locator("#plan-heading ~ ul .card", has_text=TITLE)
    expect(done.locator(".tag--overdue")).to_have_count(0)
    expect(done).to_contain_text("Selesai")
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Tugas terlambat (0)")).to_be_visible()
    second_phone.goto("/board")
    gone = board.locator("#late-tasks-heading ~ ul .card", has_text=case["reference"])
    expect(gone).to_have_count(0)
    assert not phone.console_errors and not second_phone.console_errors
