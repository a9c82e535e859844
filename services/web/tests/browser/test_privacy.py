"""Privacy pages in a real browser on a phone (issue 16): the data protection officer lands on
the audit trail with the chain's verdict and narrows it to a case; she erases a case from its
reference with a reason, confirms, and the officer's case page then shows the erasure and no
name; the coordinator assigns an officer, who can then open the case that was restricted."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from jejaring.testing import THREE_WAY_CASE

from .conftest import KARANG_JATI, SCREENSHOTS, SUMBER_REJO, Phone, Stack
from .test_coordinator import _record as record
from .test_officer import sign_in

VICTIM = "Ratna Sari Dewi Kusumawardani"


def _record(stack: Stack, login: str, kelurahan: str) -> dict[str, Any]:
    victim = {**THREE_WAY_CASE["victims"][0], "name": VICTIM}
    return record(stack, login, kelurahan_code=kelurahan, victims=[victim])


def _no_store(phone: Phone, path: str) -> None:
    headers = [h for url, h in phone.documents if url.endswith(path)]
    assert headers and all(h.get("cache-control") == "no-store" for h in headers), path


def test_the_dpo_reads_the_trail_with_its_verdict_and_narrows_it_to_a_case(
    stack: Stack, phone: Phone
) -> None:
    officer = stack.ready_officer(SUMBER_REJO, name="Ibu Sekar")
    case = _record(stack, officer["login"], SUMBER_REJO)
    _record(stack, officer["login"], SUMBER_REJO)  # another case: filtered out below
    dpo = stack.ready_person("dpo", name="Pak Dimas")

    page = sign_in(phone, dpo["login"])
    expect(page.get_by_role("heading", name="Jejak audit")).to_be_visible()
    expect(page.locator("#chain-verdict")).to_contain_text("Rantai utuh:")
    expect(page.locator("#chain-verdict")).to_contain_text("catatan")
    first = page.locator("#audit-records .card").first
    # newest first: the verdict the page just asked for is on top
    expect(first).to_contain_text("Memeriksa rantai audit")
    expect(first).to_contain_text("Pak Dimas (Petugas pelindungan data)")
    expect(first).to_contain_text("WITA")
    phone.shot("audit-trail")
    _no_store(phone, "/audit")

    page.get_by_text("Saring catatan").click()
    page.get_by_label("Nomor kasus").fill(case["reference"].lower())
    page.get_by_role("button", name="Tampilkan").click()
    phone.fits()
    cards = page.locator("#audit-records .card")
    expect(cards.first).to_be_visible()
    for text in cards.all_inner_texts():
        assert case["reference"] in text, text
    expect(cards.filter(has_text="Mencatat kasus")).to_contain_text("Ibu Sekar (Petugas)")
    phone.shot("audit-trail-case")

    # the person filter: every record by the officer
    cards.filter(has_text="Mencatat kasus").get_by_role("link", name="Ibu Sekar").click()
    phone.fits()
    expect(page.get_by_text("Hanya catatan oleh Ibu Sekar.")).to_be_visible()
    texts = page.locator("#audit-records .card").all_inner_texts()
    assert len(texts) >= 2 and all("Ibu Sekar" in t for t in texts), texts
    # no victim data anywhere on the trail
    assert VICTIM not in page.content()

    # in English, the same filter kept
    page.get_by_role("link", name="English").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.locator("#chain-verdict")).to_contain_text("Chain intact:")
    expect(page.get_by_text("Only records by Ibu Sekar.")).to_be_visible()
    expect(page.locator("#audit-records .card").first).to_contain_text("(Officer)")
    phone.shot("audit-trail-en")


def test_the_dpo_erases_a_case_and_the_officer_sees_it_erased(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    officer = stack.ready_officer(KARANG_JATI, name="Ibu Laras")
    case = _record(stack, officer["login"], KARANG_JATI)
    dpo = stack.ready_person("dpo", name="Ibu Dewi")

    page = sign_in(phone, dpo["login"])
    page.get_by_role("link", name="Hapus data kasus").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Hapus data pribadi kasus")).to_be_visible()
    page.get_by_role("button", name="Lanjut").click()  # nothing filled in
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Masukkan nomor kasus.")
    expect(summary).to_contain_text("Pilih alasan penghapusan.")
    page.get_by_label("Nomor kasus").fill("BPT-1999-999999")
    page.get_by_label("Permintaan orang yang bersangkutan").check()
    page.get_by_role("button", name="Lanjut").click()
    expect(summary).to_contain_text("Tidak ada kasus dengan nomor ini")
    phone.shot("erase-errors")

    page.get_by_label("Nomor kasus").fill(case["reference"])
    page.get_by_role("button", name="Lanjut").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Periksa sebelum menghapus")).to_be_visible()
    expect(page.get_by_text("Penghapusan ini tidak dapat dibatalkan.")).to_be_visible()
    expect(page.get_by_role("heading", name="Kasus ini masih terbuka")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("Permintaan orang yang bersangkutan")
    assert VICTIM not in page.content()
    phone.shot("erase-confirm")
    page.get_by_role("button", name="Hapus data pribadi untuk selamanya").click()
    phone.fits()
    expect(page.get_by_role("heading", name="Data pribadi dihapus")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(case["reference"])
    phone.shot("erase-done")
    _no_store(phone, "/erase")

    # a second erasure of the same case: said plainly, before any confirmation
    phone.goto("/erase")
    page.get_by_label("Nomor kasus").fill(case["reference"])
    page.get_by_label("Perintah pengadilan").check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator(".error-summary")).to_contain_text(
        f"Data pribadi kasus {case['reference']} sudah dihapus pada"
    )

    # the officer's list marks it; the case page: the line instead of the victim, no name
    other = sign_in(second_phone, officer["login"])
    line = other.locator(".card", has_text=case["reference"])
    expect(line.locator(".tag--erased")).to_have_text("Data pribadi dihapus")
    second_phone.goto(f"/cases/{case['id']}")
    expect(other.locator("#erased")).to_contain_text("Data pribadi kasus ini telah dihapus pada")
    expect(other.locator("#erased")).to_contain_text("(Permintaan orang yang bersangkutan)")
    assert VICTIM not in other.content()
    expect(other.get_by_role("heading", name="Perbarui kasus")).to_have_count(0)
    second_phone.shot("case-erased")
    other.screenshot(path=str(SCREENSHOTS / "case-erased-top.png"))
    _no_store(second_phone, f"/cases/{case['id']}")
    assert not phone.console_errors and not second_phone.console_errors


def test_the_coordinator_assigns_an_officer_who_can_then_open_the_case(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    recorder = stack.ready_officer(SUMBER_REJO, name="Ibu Ratih")
    colleague = stack.ready_officer(SUMBER_REJO, name="Bapak Yusuf")
    case = _record(stack, recorder["login"], SUMBER_REJO)

    # the colleague is not assigned: a restricted page, not "not found"
    theirs = sign_in(second_phone, colleague["login"])
    answer = theirs.goto(f"{second_phone.base}/cases/{case['id']}")
    assert answer is not None and answer.status == 403
    second_phone.fits()
    expect(theirs.get_by_role("heading", name="Kasus ini terbatas")).to_be_visible()
    expect(
        theirs.get_by_text("hanya petugas yang mencatat atau ditugaskan dan koordinator")
    ).to_be_visible()
    assert VICTIM not in theirs.content()
    second_phone.shot("case-restricted")

    coordinator = stack.ready_person("coordinator", name="Ibu Kasi Kesos")
    page = sign_in(phone, coordinator["login"])
    expect(page.get_by_role("link", name="Jejak audit: siapa membuka kasus mana")).to_be_visible()
    phone.goto(f"/cases/{case['id']}")
    expect(page.get_by_role("heading", name="Petugas yang ditugaskan")).to_be_visible()
    page.get_by_role("button", name="Tugaskan").click()  # nobody chosen
    expect(page.locator(".error-summary")).to_contain_text("Pilih petugas yang ditugaskan.")
    page.get_by_label("Tugaskan petugas kelurahan ini").select_option(label="Bapak Yusuf")
    page.get_by_role("button", name="Tugaskan").click()
    phone.fits()
    expect(page.get_by_role("status")).to_contain_text("Petugas ditugaskan")
    expect(page.locator("#assigned-heading + p")).to_have_text("Bapak Yusuf")
    phone.shot("case-assign")
    page.locator("section", has=page.locator("#assigned-heading")).screenshot(
        path=str(SCREENSHOTS / "case-assign-section.png")
    )

    second_phone.goto(f"/cases/{case['id']}")
    expect(theirs.get_by_role("heading", name=f"Kasus {case['reference']}")).to_be_visible()
    expect(theirs.get_by_text(VICTIM)).to_be_visible()

    # the coordinator's trail of the case shows the assignment, with whom
    page.get_by_role("link", name="Jejak audit kasus ini").click()
    phone.fits()
    assigned = page.locator("#audit-records .card", has_text="Menugaskan petugas")
    expect(assigned).to_contain_text("Orang yang dikenai: Bapak Yusuf")
    expect(assigned).to_contain_text("Ibu Kasi Kesos (Koordinator)")
