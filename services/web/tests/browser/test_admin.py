"""The admin in a real browser on a phone: creates an officer who then sets a password and
signs in, adds and deactivates a partner, reads the delivery log without message texts; and an
officer finds no admin page."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from jejaring.testing import VICTIM_NAME
from jejaring.web.admin import HIDDEN_DELIVERY_FIELDS

from .conftest import (
    ADMIN,
    GUNUNG_SARI_ULU,
    PASSWORD,
    VIEWPORT,
    Phone,
    Stack,
    wait_until,
)
from .test_officer import _record_by_api


def new_admin(stack: Stack) -> dict[str, str]:
    """The first admin person, made with the bootstrap admin token (as an operator does)."""
    login = f"admin-{uuid.uuid4().hex[:8]}"
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/users",
        json={"name": "Pak Hendra", "role": "admin", "login": login},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"login": login, "code": r.json()["setup_code"]}


def set_password(phone: Phone, login: str, code: str) -> None:
    page = phone.goto("/set-password")
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kode sekali pakai").fill(code)
    page.get_by_label("Kata sandi baru", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi baru").fill(PASSWORD)
    page.get_by_role("button", name="Simpan kata sandi").click()
    phone.fits()


def sign_in(phone: Phone, login: str) -> Page:
    page = phone.goto("/sign-in")
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    phone.fits()
    return page


def admin_signed_in(stack: Stack, phone: Phone) -> Page:
    """An admin who set their password on /set-password and signed in: the admin menu."""
    admin = new_admin(stack)
    set_password(phone, admin["login"], admin["code"])
    page = sign_in(phone, admin["login"])
    expect(page.get_by_role("heading", name="Menu admin")).to_be_visible()
    return page


def other_phone(browser: Browser, stack: Stack) -> Phone:
    """A second phone (its own browser context: no cookie shared with the first)."""
    context = browser.new_context(
        viewport=VIEWPORT, locale="id-ID", timezone_id="Asia/Makassar", is_mobile=True
    )
    return Phone(context, stack.url("web"))


def deactivate(phone: Phone, listing: str, name: str, what: str, notice: str) -> None:
    """Nonaktifkan on a card of the list, the confirmation step, and the list again."""
    page = phone.goto(listing)
    page.locator(".card", has_text=name).get_by_role("link", name="Nonaktifkan").click()
    phone.fits()
    expect(page.get_by_role("heading", name=f"Nonaktifkan {what}?")).to_be_visible()
    page.get_by_role("button", name="Ya, nonaktifkan").click()
    phone.fits()
    expect(page.get_by_text(f"{notice} sudah dinonaktifkan.")).to_be_visible()
    expect(page.locator(".card", has_text=name)).to_contain_text("Nonaktif")


def admin_pages_were_private(phone: Phone, least: int) -> None:
    pages = [(url, h) for url, h in phone.documents if "/admin" in url]
    assert len(pages) >= least
    for url, headers in pages:
        assert headers.get("cache-control") == "no-store", url
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), url


def test_the_admin_creates_an_officer_who_sets_a_password_and_signs_in(
    stack: Stack, phone: Phone, browser: Browser
) -> None:
    page = admin_signed_in(stack, phone)
    page.get_by_role("link", name="Pengguna").first.click()
    phone.fits()
    page.get_by_role("link", name="Tambah pengguna").click()
    phone.fits()

    # What the form misses, and what intake refuses, each beside its field.
    page.get_by_label("Nama lengkap").fill("Ibu Sari Rahayu")
    page.get_by_label("Petugas", exact=True).check()
    page.get_by_label("Nomor telepon").fill("12")
    page.get_by_role("button", name="Buat pengguna").click()
    phone.fits()
    expect(page.locator("#kelurahan-error")).to_contain_text("Pilih kelurahan petugas ini")
    page.get_by_label("Kelurahan", exact=True).select_option(label="Karang Rejo")
    page.get_by_role("button", name="Buat pengguna").click()
    phone.fits()
    expect(page.locator("#phone-error")).to_be_visible()
    expect(page.get_by_label("Nama lengkap")).to_have_value("Ibu Sari Rahayu")
    phone.shot("admin-person-errors")

    login = f"sari-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Nomor telepon").fill("081355500011")
    page.get_by_label("Nama pengguna (tidak wajib)").fill(login)
    page.get_by_role("button", name="Buat pengguna").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Pengguna dibuat")).to_be_visible()
    expect(page.get_by_text("Hanya ditampilkan sekali")).to_be_visible()
    assert page.locator("#new-login").inner_text() == login
    code = page.locator("#setup-code").inner_text()
    assert code
    expect(page.get_by_text("/set-password")).to_be_visible()
    phone.shot("admin-person-created")

    # The officer, on her own phone, uses the code once and lands on her cases.
    officer = other_phone(browser, stack)
    try:
        set_password(officer, login, code)
        expect(officer.page.get_by_text("Kata sandi Anda sudah tersimpan")).to_be_visible()
        sign_in(officer, login)
        expect(officer.page.get_by_role("heading", name="Kasus", exact=True)).to_be_visible()
        expect(officer.page.get_by_text("Karang Rejo").first).to_be_visible()

        # The list shows her; a new code for a forgotten password; then she is deactivated.
        phone.goto("/admin/people")
        card = page.locator(".card", has_text="Ibu Sari Rahayu")
        expect(card).to_contain_text("Karang Rejo")
        expect(card).to_contain_text(login)
        expect(card).to_contain_text("Aktif")
        phone.shot("admin-people")
        card.get_by_role("button", name="Kode baru").click()
        phone.fits()
        expect(page.get_by_role("heading", name="Kode baru")).to_be_visible()
        assert page.locator("#setup-code").inner_text() not in ("", code)
        deactivate(phone, "/admin/people", "Ibu Sari Rahayu", "pengguna", "Orang itu")

        officer.goto("/cases")
        expect(officer.page.get_by_role("heading", name="Masuk ke Jejaring")).to_be_visible()
        assert officer.console_errors == []
    finally:
        officer.context.close()
    admin_pages_were_private(phone, 8)
    assert phone.console_errors == []


def test_the_admin_adds_a_partner_sees_its_token_once_and_deactivates_it(
    stack: Stack, phone: Phone
) -> None:
    page = admin_signed_in(stack, phone)
    page.get_by_role("link", name="Mitra").first.click()
    phone.fits()
    page.get_by_role("link", name="Tambah mitra").click()
    phone.fits()

    page.get_by_label("Nama lembaga").fill("UPTD PPA Kota Balikpapan")
    page.get_by_label("Kode mitra").fill("UPTD PPA")
    page.get_by_label("Jenis lembaga").select_option(label="Pemerintah")
    page.get_by_label("Rumah Aman", exact=True).check()
    page.get_by_label("Nama kontak").fill("Ibu Ratna")
    page.get_by_label("Nomor telepon").fill("0542000000")
    page.get_by_label("Jam tenang mulai").fill("21.00")
    page.get_by_role("button", name="Tambah mitra").click()
    phone.fits()
    # referral's own reasons, beside the slug and the quiet hours
    expect(page.locator("#slug-error")).to_be_visible()
    expect(page.locator("#contact-quiet-start-error")).to_be_visible()
    expect(page.get_by_label("Rumah Aman", exact=True)).to_be_checked()
    phone.shot("admin-partner-errors")

    page.get_by_label("Kode mitra").fill("uptd-ppa-balikpapan")
    page.get_by_label("Jam tenang mulai").fill("21:00")
    page.get_by_label("Jam tenang selesai").fill("06:00")
    page.get_by_role("button", name="Tambah mitra").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Mitra ditambahkan")).to_be_visible()
    expect(page.get_by_text("Hanya ditampilkan sekali")).to_be_visible()
    token = page.locator("#partner-token").inner_text()
    assert len(token) >= 20
    expect(page.locator("#nats-command")).to_have_text(
        "jejaring partner credentials uptd-ppa-balikpapan"
    )
    phone.shot("admin-partner-added")

    # The token works at referral, and is never shown again.
    r = httpx.get(
        f"{stack.url('referral')}/api/v1/partners/uptd-ppa-balikpapan/referrals",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    page.get_by_role("link", name="Kembali ke daftar mitra").click()
    phone.fits()
    card = page.locator(".card", has_text="UPTD PPA Kota Balikpapan")
    expect(card).to_contain_text("Pemerintah")
    expect(card).to_contain_text("Rumah Aman")
    expect(card).to_contain_text("Semua (enam kelurahan)")
    expect(card).to_contain_text("21:00–06:00")
    assert token not in page.content()
    phone.shot("admin-partners")

    # A taken slug is refused beside its field.
    page.get_by_role("link", name="Tambah mitra").click()
    page.get_by_label("Nama lembaga").fill("UPTD PPA lagi")
    page.get_by_label("Kode mitra").fill("uptd-ppa-balikpapan")
    page.get_by_label("Jenis lembaga").select_option(label="Pemerintah")
    page.get_by_label("Konseling", exact=True).check()
    page.get_by_role("button", name="Tambah mitra").click()
    phone.fits()
    expect(page.locator("#slug-error")).to_contain_text("sudah terdaftar")

    deactivate(phone, "/admin/partners", "UPTD PPA Kota Balikpapan", "mitra", "Mitra itu")
    admin_pages_were_private(phone, 8)
    assert phone.console_errors == []


def _deliveries_of(stack: Stack, reference: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{stack.url('notify')}/api/v1/deliveries",
        params={"case_reference": reference},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def test_the_delivery_log_lists_a_cases_alerts_without_their_text(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ULU)
    case = _record_by_api(stack, officer["login"])
    sent = wait_until(lambda: _deliveries_of(stack, case["reference"]))

    page = admin_signed_in(stack, phone)
    page.get_by_role("link", name="Catatan pengiriman").first.click()
    phone.fits()
    expect(page.get_by_text(case["reference"]).first).to_be_visible()
    page.get_by_text("Saring daftar").click()
    page.get_by_label("Nomor kasus").fill(case["reference"])
    page.get_by_role("button", name="Terapkan").click()
    phone.fits()
    cards = page.locator(".card")
    assert cards.count() >= len(sent)
    expect(cards.first).to_contain_text(case["reference"])
    expect(cards.first).to_contain_text("Percobaan")
    html = page.content()
    assert VICTIM_NAME not in html
    for row in sent:  # whatever text notify's answer may carry never reaches the page
        for key in HIDDEN_DELIVERY_FIELDS:
            assert not row.get(key) or str(row[key]) not in html
    phone.shot("admin-deliveries")

    # Filtered by status: only that status is listed.
    page.get_by_label("Status").select_option(label="Gagal")
    page.get_by_role("button", name="Terapkan").click()
    phone.fits()
    for i in range(page.locator(".card").count()):
        expect(page.locator(".card").nth(i)).to_contain_text("Gagal")
    admin_pages_were_private(phone, 3)
    assert phone.console_errors == []


def test_an_officer_finds_no_admin_page(stack: Stack, phone: Phone) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ULU)
    page = sign_in(phone, officer["login"])
    expect(page.get_by_role("heading", name="Kasus", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Pengguna")).to_have_count(0)
    paths = ("/admin", "/admin/people", "/admin/people/new", "/admin/partners", "/admin/deliveries")
    for path in paths:
        phone.goto(path)
        expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()
        assert "Pak Hendra" not in page.content()
    admin_pages_were_private(phone, len(paths))
    assert phone.console_errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ] * len(paths)
