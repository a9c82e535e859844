"""An officer in a real browser on a phone: sets a password, signs in, records a case in Bahasa
Indonesia and follows its referrals; the errors, a dropped connection, another kelurahan's case
and the language switch, the way a volunteer meets them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import httpx
from playwright.sync_api import Page, Route, expect

from jejaring.testing import THREE_WAY_CASE

from .conftest import (
    GUNUNG_SARI_ILIR,
    GUNUNG_SARI_ULU,
    KARANG_JATI,
    MEKAR_SARI,
    PASSWORD,
    SUMBER_REJO,
    Phone,
    Stack,
    wait_until,
)

VICTIM = "Putri Ayu Lestari"


def sign_in(phone: Phone, login: str, path: str = "/sign-in") -> Page:
    page = phone.goto(path)
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    phone.fits()
    return page


def cont(phone: Phone) -> None:
    phone.page.get_by_role("button", name="Lanjut", exact=True).click()
    phone.fits()


def incident(phone: Phone, *, forms: list[str], risk: str, shot: str = "") -> None:
    """Step 1. The report time is filled in already (the web's clock, WITA); the incident was
    the day before it, whatever the hour the test runs at."""
    page = phone.page
    expect(page.get_by_role("heading", name="Kejadian")).to_be_visible()
    reported = page.get_by_label("Waktu laporan (WITA)").input_value()
    day_before = dt.date.fromisoformat(reported[:10]) - dt.timedelta(days=1)
    page.get_by_label("Tanggal kejadian (bila diketahui)").fill(day_before.isoformat())
    page.get_by_label("Rumah Tangga").check()
    for form in forms:
        page.get_by_label(form, exact=True).check()
    page.get_by_label("Keterangan singkat (tidak wajib)").fill("Korban dipukul di rumah.")
    page.get_by_label(risk, exact=True).check()
    page.get_by_label("Tetangga").check()
    if shot:
        phone.shot(shot)
    cont(phone)


def victim(phone: Phone, *, birth_date: str = "", age: str = "", shot: str = "") -> None:
    page = phone.page
    expect(page.get_by_role("heading", name="Korban", exact=True)).to_be_visible()
    page.get_by_label("Nama lengkap").fill(VICTIM)
    page.get_by_label("Perempuan").check()
    if birth_date:
        page.get_by_label("Tanggal lahir").fill(birth_date)
    if age:
        page.get_by_label("Usia (tahun)").fill(age)
    page.get_by_label("Nomor telepon (tidak wajib)").fill("081234567890")
    if shot:
        phone.shot(shot)
    cont(phone)


def perpetrator(phone: Phone, relationship: str, shot: str = "") -> None:
    page = phone.page
    expect(page.get_by_role("heading", name="Terduga pelaku")).to_be_visible()
    page.get_by_label(relationship, exact=True).check()
    page.get_by_label("Laki-laki").check()
    page.get_by_label("Tidak", exact=True).check()
    if shot:
        phone.shot(shot)
    cont(phone)


def needs(phone: Phone, services: list[str], shot: str = "") -> None:
    page = phone.page
    expect(page.get_by_role("heading", name="Kebutuhan layanan")).to_be_visible()
    for service in services:
        page.get_by_label(service, exact=True).check()
    if shot:
        phone.shot(shot)
    cont(phone)


def consent(phone: Phone, given_by: str, scope: list[str], shot: str = "") -> None:
    page = phone.page
    expect(page.get_by_role("heading", name="Persetujuan berbagi data")).to_be_visible()
    page.get_by_label(given_by, exact=True).check()
    for kind in scope:
        page.get_by_label(kind, exact=True).check()
    if shot:
        phone.shot(shot)
    cont(phone)


def example_case(phone: Phone, *, shots: bool = False) -> None:
    """intake's example case (services/intake/tests/integration/test_api.py CASE), typed in:
    a child hit at home by her father, high risk, up to the check-your-answers page."""

    def shot(name: str) -> str:
        return name if shots else ""

    phone.page.get_by_role("link", name="Catat kasus baru").click()
    phone.fits()
    incident(phone, forms=["Fisik", "Psikis"], risk="Tinggi", shot=shot("step-1-incident"))
    victim(phone, birth_date="2014-05-01", shot=shot("step-2-victims"))
    perpetrator(phone, "Orang Tua", shot=shot("step-3-perpetrator"))
    needs(
        phone,
        ["Perlindungan Kepolisian", "Bantuan Hukum", "Konseling"],
        shot=shot("step-4-needs"),
    )
    consent(
        phone,
        "Wali/Orang Tua",
        ["Kepolisian", "TNI", "Bantuan Hukum", "Konseling"],
        shot=shot("step-5-consent"),
    )
    page = phone.page
    expect(page.get_by_role("heading", name="Bukti tidak mampu")).to_be_visible()
    page.get_by_label("Kartu PKH").check()
    page.get_by_label("Nomor bukti (tidak wajib)").fill("PKH-3374-01")
    if shots:
        phone.shot("step-6-legal-aid")
    cont(phone)
    expect(page.get_by_role("heading", name="Periksa jawaban Anda")).to_be_visible()


def assert_no_victim_name_in_title_or_url(page: Page) -> None:
    assert VICTIM not in page.title()
    assert "Putri" not in page.url


def test_an_officer_sets_a_password_signs_in_records_the_example_case_and_sees_its_referrals(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.add_officer()
    page = phone.goto("/sign-in")
    phone.shot("sign-in")
    page.get_by_role("link", name="Buat kata sandi dengan kode dari admin").click()
    phone.fits()
    page.get_by_label("Nama pengguna").fill(officer["login"])
    page.get_by_label("Kode sekali pakai").fill(officer["code"])
    page.get_by_label("Kata sandi baru", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi baru").fill(PASSWORD)
    phone.shot("set-password")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_text("Kata sandi Anda sudah tersimpan. Silakan masuk.")).to_be_visible()

    sign_in(phone, officer["login"])
    expect(page.get_by_role("heading", name="Kasus", exact=True)).to_be_visible()
    phone.shot("cases-empty")

    example_case(phone, shots=True)
    phone.fits()
    phone.shot("check-answers")
    assert_no_victim_name_in_title_or_url(page)
    page.get_by_role("button", name="Kirim kasus").click()

    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    reference = page.locator(".panel__body strong").inner_text()
    assert re.fullmatch(r"BPT-\d{4}-\d{6}", reference)
    assert page.title() == f"Kasus {reference} – Jejaring"
    assert_no_victim_name_in_title_or_url(page)

    # Referral routes the case in the background: the case page shows them once they exist
    # (R3 adds the Babinsa's security escort to a high-risk case).
    def referrals_shown() -> bool:
        page.reload()
        return page.locator("#referrals-heading + ul .card").count() >= 4

    wait_until(referrals_shown, timeout=60)
    phone.fits()
    referrals = page.locator("#referrals-heading + ul").inner_text()
    for partner in ("polresta-ppa", "babinsa-bpp-tengah", "posbakum-aisyiyah", "bikksa-mentari"):
        assert partner in referrals
    for service in ("Perlindungan Kepolisian", "Pengamanan Babinsa", "Bantuan Hukum", "Konseling"):
        assert service in referrals
    assert "Diminta" in referrals
    assert "Batas waktu menerima" in referrals

    # Who was alerted, when and how (notify's delivery log, as the officer may see it): the
    # police and the Babinsa by SMS at once for a high-risk case (R3).
    def alerts_shown() -> bool:
        page.reload()
        alerts = page.locator("#alerts-heading + ul")
        return alerts.count() == 1 and "polresta-ppa" in alerts.inner_text()

    wait_until(alerts_shown, timeout=60)
    alerts = page.locator("#alerts-heading + ul").inner_text()
    assert "Rujukan baru" in alerts and "SMS" in alerts
    phone.fits()
    phone.shot("case")
    assert_no_victim_name_in_title_or_url(page)

    page.get_by_role("link", name="Kembali ke daftar kasus").click()
    phone.fits()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    assert VICTIM not in page.content(), "the list of cases shows no victim's name"
    phone.shot("cases")
    assert phone.console_errors == []


def test_a_case_breaking_r1_shows_the_reason_beside_the_needs_and_records_nothing(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ULU)
    page = sign_in(phone, officer["login"])
    page.get_by_role("link", name="Catat kasus baru").click()
    incident(phone, forms=["Seksual"], risk="Sedang")
    victim(phone, age="30")
    perpetrator(phone, "Suami/Istri")
    needs(phone, ["Mediasi", "Konseling"])
    consent(phone, "Korban", ["Konseling"])

    # intake's check (POST /cases/check) refused R1: back on the needs step, beside the field
    expect(page.get_by_role("heading", name="Kebutuhan layanan")).to_be_visible()
    r1 = "Mediasi tidak boleh untuk kasus kekerasan seksual"
    expect(page.locator("#needs-error")).to_contain_text(r1)
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text(r1)
    expect(summary.get_by_role("link")).to_have_attribute("href", "#needs")
    assert page.title().startswith("Kesalahan:")
    phone.fits()
    phone.shot("error-r1")
    assert stack.cases_of(officer["login"]) == []

    # Mediation taken away, the case goes through.
    page.get_by_label("Mediasi", exact=True).uncheck()
    page.get_by_role("button", name="Simpan dan periksa jawaban").click()
    expect(page.get_by_role("heading", name="Periksa jawaban Anda")).to_be_visible()
    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    assert len(stack.cases_of(officer["login"])) == 1

    # R1 holds for a change too: beside the field of the form that asked for it.
    page.get_by_text("Tambah kebutuhan", exact=True).click()
    page.get_by_label("Mediasi", exact=True).check()
    page.get_by_role("button", name="Tambahkan kebutuhan").click()
    expect(page.locator("#add_needs-error")).to_contain_text(r1)
    expect(page.locator(".error-summary a[href='#add_needs']")).to_contain_text(r1)
    phone.fits()
    phone.shot("case-change-error")
    page.get_by_text("Tutup kasus dengan hasil", exact=True).click()
    page.get_by_label("Tertangani").check()
    page.get_by_role("button", name="Tutup kasus").click()
    expect(page.get_by_text("Kasus ditutup.")).to_be_visible()
    expect(page.locator(".tag--closed")).to_have_text("Ditutup")
    assert stack.cases_of(officer["login"])[0]["status"] == "closed"
    assert phone.console_errors == []


def test_a_connection_cut_during_submit_then_submitted_again_records_one_case(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR)
    page = sign_in(phone, officer["login"])
    example_case(phone)
    cut: list[str] = []

    def drop_the_answer(route: Route) -> None:
        if not cut:
            # The web app gets the case and records it; the answer never reaches the phone.
            route.fetch(max_redirects=0)
            cut.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/cases/submit", drop_the_answer)
    page.get_by_role("button", name="Kirim kasus").click()
    lost = page.locator("#connection-lost")
    expect(lost).to_be_visible()
    expect(lost).to_contain_text("Koneksi terputus")
    # Every answer is still on the page
    expect(page.get_by_role("heading", name="Periksa jawaban Anda")).to_be_visible()
    expect(page.get_by_text(VICTIM)).to_be_visible()
    phone.shot("submit-connection-lost")
    assert len(stack.cases_of(officer["login"])) == 1, "the first press reached intake"

    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    assert cut, "the first submit was not intercepted"
    assert len(stack.cases_of(officer["login"])) == 1, "recorded once, not twice"


def test_a_case_sent_while_offline_is_sent_by_itself_when_the_phone_is_back_online(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR)  # the kelurahan has other tests' cases too
    before = len(stack.cases_of(officer["login"]))
    page = sign_in(phone, officer["login"])
    example_case(phone)
    phone.context.set_offline(True)
    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.locator("#connection-lost")).to_be_visible()
    expect(page.get_by_text(VICTIM)).to_be_visible()
    assert len(stack.cases_of(officer["login"])) == before, "nothing left the phone"

    phone.context.set_offline(False)  # no button pressed
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    assert len(stack.cases_of(officer["login"])) == before + 1


def test_another_kelurahans_case_is_not_found_and_case_pages_are_not_stored(
    stack: Stack, phone: Phone
) -> None:
    elsewhere = stack.ready_officer(MEKAR_SARI)
    other = _record_by_api(stack, elsewhere["login"])
    officer = stack.ready_officer(KARANG_JATI)

    # An alert's link, opened signed out: sign in first, then the page it names.
    page = phone.goto(f"/cases/{other['id']}")
    expect(page.get_by_role("heading", name="Masuk ke Jejaring")).to_be_visible()
    page.get_by_label("Nama pengguna").fill(officer["login"])
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()
    assert page.url.endswith(f"/cases/{other['id']}")
    assert other["reference"] not in page.content()
    phone.fits()
    phone.shot("not-found")

    own = _record_by_api(stack, officer["login"])
    phone.goto(f"/cases/{own['id']}")
    expect(page.get_by_role("heading", name=f"Kasus {own['reference']}")).to_be_visible()
    phone.goto("/cases")
    phone.goto("/cases?risk=medium")
    pages = [(url, headers) for url, headers in phone.documents if "/static/" not in url]
    assert len(pages) >= 5
    for url, headers in pages:
        assert headers.get("cache-control") == "no-store", url
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), url
        assert headers.get("referrer-policy") == "no-referrer", url
        assert headers.get("x-content-type-options") == "nosniff", url
    # the one error: the not-found page's own status
    assert phone.console_errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]


def test_the_english_switch_is_kept_from_page_to_page(stack: Stack, phone: Phone) -> None:
    officer = stack.ready_officer(SUMBER_REJO)
    page = phone.goto("/sign-in")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Sign in to Jejaring")).to_be_visible()
    page.get_by_label("User name").fill(officer["login"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    page.get_by_role("link", name="Record a new case").click()
    expect(page.get_by_role("heading", name="The incident")).to_be_visible()
    expect(page.get_by_label("Household")).to_be_visible()
    phone.fits()
    phone.shot("step-1-incident-en")

    # Switching back in the middle of a step keeps what was typed.
    page.get_by_label("Short description (optional)").fill("Dipukul di rumah.")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.get_by_role("heading", name="Kejadian")).to_be_visible()
    expect(page.get_by_label("Keterangan singkat (tidak wajib)")).to_have_value("Dipukul di rumah.")
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Kasus", exact=True)).to_be_visible()
    page.get_by_role("link", name="English").click()
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    assert phone.console_errors == []


def test_a_colleagues_case_is_a_line_only_and_an_override_waits_for_the_coordinator(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    recorder = stack.ready_officer(MEKAR_SARI)
    colleague = stack.ready_officer(MEKAR_SARI)
    waiting = _record_by_api(
        stack,
        recorder["login"],
        victims=[{"name": VICTIM, "sex": "female", "age": 12}],
        consent={
            "given_by": "override",
            "scope": ["police", "legal_aid", "counselling"],
            "override_reason": "child_in_danger",
        },
    )
    page = sign_in(phone, colleague["login"])
    phone.goto("/cases")
    card = page.get_by_role("listitem").filter(has_text=waiting["reference"])
    expect(card.get_by_text("Terbatas", exact=True)).to_be_visible()
    expect(card.get_by_text("Menunggu konfirmasi koordinator")).to_be_visible()
    expect(card.get_by_role("link")).to_have_count(0)
    assert VICTIM not in page.content()
    phone.shot("case-list-restricted")

    coordinator = stack.ready_person("coordinator", name="Ibu Rina")
    page = sign_in(second_phone, coordinator["login"])
    second_phone.goto(f"/cases/{waiting['id']}")
    expect(page.get_by_text("Kasus belum dirujuk ke mitra mana pun")).to_be_visible()
    page.get_by_role("button", name="Konfirmasi pengecualian").click()
    expect(page.get_by_text("Pengecualian persetujuan dikonfirmasi")).to_be_visible()
    expect(page.get_by_role("button", name="Konfirmasi pengecualian")).to_have_count(0)
    second_phone.fits()
    second_phone.shot("override-confirmed")
    assert phone.console_errors == second_phone.console_errors == []


def _record_by_api(stack: Stack, login: str, **changes: Any) -> dict[str, Any]:
    """A case of the officer's kelurahan, recorded through intake's API with their token."""
    token = stack.token(login)
    claims = token.split(".")[1]
    kelurahan = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["kel"]
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/cases",
        json={**THREE_WAY_CASE, "kelurahan_code": kelurahan, **changes},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    return case
