"""Partner staff in a real browser on a phone: Posbakum's paralegal sees the referral an officer
made in the inbox with its deadline, answers it, and the officer sees the answer; another
partner's referral is not found, and no page with case data is stored."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from .conftest import (
    GUNUNG_SARI_ULU,
    KARANG_REJO,
    PASSWORD,
    Phone,
    Stack,
    wait_until,
)
from .test_officer import VICTIM, _record_by_api, example_case, sign_in

POSBAKUM = "posbakum-aisyiyah"


def test_posbakum_sees_the_referral_with_its_deadline_accepts_it_and_the_officer_sees_it(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    paralegal_phone = second_phone  # the paralegal's own browser, beside the officer's
    officer = stack.ready_officer(KARANG_REJO)
    page = sign_in(phone, officer["login"])
    example_case(phone)
    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    reference = page.locator(".panel__body strong").inner_text()
    case_url = page.url.split("?")[0]

    paralegal = stack.ready_person("partner_staff", name="Ibu Aminah", partner_slug=POSBAKUM)
    theirs = sign_in(paralegal_phone, paralegal["login"])
    expect(theirs.get_by_role("heading", name="Rujukan masuk")).to_be_visible()

    def in_inbox() -> bool:
        paralegal_phone.goto("/referrals")
        return theirs.get_by_role("link", name=reference).count() == 1

    wait_until(in_inbox, timeout=60)
    card = theirs.locator(".card", has=theirs.get_by_role("link", name=reference))
    expect(card).to_contain_text("Bantuan Hukum")
    expect(card).to_contain_text("Diminta")
    expect(card).to_contain_text("Batas waktu menerima")
    # a high-risk case: Posbakum has an hour, counted down on the web's clock
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^sisa (\d+ jam )?\d+ menit$"))
    assert VICTIM not in theirs.content(), "referral shows partners no victim's name over HTTP"
    paralegal_phone.shot("partner-inbox")

    theirs.get_by_role("link", name=reference).click()
    paralegal_phone.fits()
    expect(theirs.get_by_role("heading", name=f"Rujukan {reference}")).to_be_visible()
    # from requested, the state machine allows a partner to accept or reject only
    answers = theirs.locator("fieldset .choice__label").all_inner_texts()
    assert answers == ["Terima rujukan", "Tolak rujukan"]

    # rejecting needs a reason: referral refuses, the page says so beside the field
    theirs.get_by_label("Tolak rujukan").check()
    theirs.get_by_role("button", name="Kirim jawaban").click()
    expect(theirs.locator("#reason-error")).to_contain_text("Pilih atau tulis alasannya")
    expect(theirs.locator(".error-summary a[href='#reason']")).to_be_visible()
    assert theirs.title().startswith("Kesalahan:")
    paralegal_phone.fits()

    theirs.get_by_label("Terima rujukan").check()
    theirs.get_by_label("Catatan (tidak wajib)").fill("Pendampingan hari Senin pukul 09.00.")
    theirs.get_by_role("button", name="Kirim jawaban").click()
    expect(theirs.get_by_text("Jawaban tersimpan: Diterima.")).to_be_visible()
    expect(theirs.locator(".summary")).to_contain_text("Ibu Aminah")
    # from accepted: the work's moves, never cancel (that is the requester's)
    answers = theirs.locator("fieldset .choice__label").all_inner_texts()
    assert answers == ["Sedang ditangani", "Ditunda", "Selesai ditangani", "Gagal ditangani"]
    paralegal_phone.fits()
    paralegal_phone.shot("partner-referral")

    # the officer's case page shows it accepted once intake's read model has it
    def accepted_on_the_case() -> bool:
        phone.page.goto(case_url)
        legal = phone.page.locator("#referrals-heading + ul .card", has_text="posbakum-aisyiyah")
        return legal.count() == 1 and "Diterima" in legal.inner_text()

    wait_until(accepted_on_the_case, timeout=60)
    # the referral as a timeline, oldest first: requested, then accepted by the paralegal
    legal = phone.page.locator("#referrals-heading + ul .card", has_text="posbakum-aisyiyah")
    timeline = legal.get_by_role("list", name="Riwayat rujukan")
    steps = timeline.get_by_role("listitem")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Diminta")
    expect(steps.nth(0)).to_contain_text("Batas waktu menerima")
    expect(steps.nth(1)).to_contain_text("Diterima")
    expect(steps.nth(1)).to_contain_text("oleh Ibu Aminah")
    expect(steps.nth(1).locator("time")).to_have_text(
        re.compile(r"^\d{1,2} \w+ \d{4}, \d{2}\.\d{2} WITA$")
    )
    phone.fits()

    # the help failed: the paralegal chooses the reason from the list, writes nothing more
    theirs.get_by_label("Gagal ditangani").check()
    theirs.get_by_label("Alasan", exact=True).select_option(label="Korban tidak dapat dihubungi")
    theirs.get_by_role("button", name="Kirim jawaban").click()
    expect(theirs.get_by_text("Jawaban tersimpan: Gagal.")).to_be_visible()
    reason_row = theirs.locator(".summary__row", has_text="Alasan")
    expect(reason_row).to_have_count(1)
    expect(reason_row).to_contain_text("Korban tidak dapat dihubungi")
    (recorded,) = [r for r in stack.referrals_of(POSBAKUM) if r["case_reference"] == reference]
    assert (recorded["status"], recorded["reason_code"], recorded["reason"]) == (
        "failed",
        "victim_unreachable",
        "Korban tidak dapat dihubungi",
    )
    paralegal_phone.fits()
    assert phone.console_errors == []
    assert paralegal_phone.console_errors == []


def test_another_partners_referral_is_not_found_and_no_page_is_stored(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ULU)
    case = _record_by_api(stack, officer["login"])  # to the police, legal aid and counselling

    def referral_to(slug: str) -> list[dict[str, str]]:
        return [r for r in stack.referrals_of(slug) if r["case_reference"] == case["reference"]]

    polresta = wait_until(lambda: referral_to("polresta-ppa"), timeout=60)
    own = wait_until(lambda: referral_to(POSBAKUM), timeout=60)
    paralegal = stack.ready_person("partner_staff", name="Pak Yusuf", partner_slug=POSBAKUM)

    # an alert's link, opened signed out: sign in first, then the referral it names
    page = phone.goto(f"/referrals/{own[0]['id']}")
    expect(page.get_by_role("heading", name="Masuk ke Jejaring")).to_be_visible()
    page.get_by_label("Nama pengguna").fill(paralegal["login"])
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name=f"Rujukan {own[0]['case_reference']}")).to_be_visible()

    phone.goto(f"/referrals/{polresta[0]['id']}")
    expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()
    phone.goto("/referrals/not-a-referral")
    expect(page.get_by_role("heading", name="Halaman tidak ditemukan")).to_be_visible()
    # cases are not a partner's: the start page, their inbox
    phone.goto("/cases")
    expect(page.get_by_role("heading", name="Rujukan masuk")).to_be_visible()
    phone.goto("/board")
    expect(page.get_by_role("heading", name="Rujukan masuk")).to_be_visible()

    pages = [(url, headers) for url, headers in phone.documents if "/static/" not in url]
    assert len(pages) >= 6
    for url, headers in pages:
        assert headers.get("cache-control") == "no-store", url
        assert headers.get("referrer-policy") == "no-referrer", url
    # the only errors: the not-found pages' own status
    assert set(phone.console_errors) == {
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    }


def test_an_officer_narrows_consent_and_the_legal_aid_referral_is_cancelled(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(KARANG_REJO)
    case = _record_by_api(stack, officer["login"])  # to the police, legal aid and counselling
    page = sign_in(phone, officer["login"])

    def legal_aid_card() -> Any:
        return page.locator("#referrals-heading + ul .card", has_text=POSBAKUM)

    def shown(status: str) -> bool:
        phone.goto(f"/cases/{case['id']}")
        card = legal_aid_card()
        return card.count() == 1 and status in card.inner_text()

    wait_until(lambda: shown("Diminta"), timeout=60)
    page.get_by_text("Ubah persetujuan", exact=True).click()
    # nothing unticked: said beside the field
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator("#consent-scope-error")).to_contain_text("Persetujuan sama")
    page.get_by_label("Bantuan Hukum", exact=True).uncheck()
    page.get_by_role("button", name="Lanjut").click()

    # the confirmation says which partner's referral will be cancelled
    expect(page.get_by_role("heading", name="Ubah persetujuan?")).to_be_visible()
    expect(page.locator("#cancelled-referrals")).to_contain_text(POSBAKUM)
    expect(page.locator("#cancelled-referrals")).not_to_contain_text("polresta-ppa")
    phone.fits()
    page.get_by_role("button", name="Ya, ubah persetujuan").click()
    expect(page.get_by_text("Persetujuan diubah.")).to_be_visible()

    wait_until(lambda: shown("Dibatalkan"), timeout=60)
    steps = legal_aid_card().get_by_role("list", name="Riwayat rujukan").get_by_role("listitem")
    expect(steps.last).to_contain_text("Dibatalkan")
    phone.fits()
    assert phone.console_errors == []
