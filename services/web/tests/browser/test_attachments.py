"""Attachments in a real browser on a phone, against the whole system: an officer attaches an
SKTM and a photo on the case page (a wrong type and a file over the limit are refused beside the
field, in Bahasa Indonesia), an attachment is deleted in two taps; Posbakum's paralegal finds the SKTM on the legal-aid
referral's page and downloads the same bytes through the web app; the Babinsa's staff do not."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from .conftest import (
    GUNUNG_SARI_ILIR,
    SCREENSHOTS,
    Phone,
    Stack,
    new_context,
    wait_until,
)
from .test_officer import _record_by_api, sign_in

POSBAKUM = "posbakum-aisyiyah"
BABINSA = "babinsa-bpp-tengah"
MARKER = b"SKTM-GUNUNG-SARI-ILIR-474-BROWSER"
SKTM = b"%PDF-1.7\n" + MARKER + b"\n" + os.urandom(30_000) + b"\n%%EOF\n"
PHOTO = b"\x89PNG\r\n\x1a\n" + os.urandom(2_000)
LIMIT = 5 * 1024 * 1024  # intake's default INTAKE_ATTACHMENT_MAX_BYTES


def attach(phone: Phone, kind: str, path: Path) -> None:
    page = phone.page
    page.get_by_label("Jenis lampiran").select_option(label=kind)
    page.get_by_label("Berkas").set_input_files(str(path))
    page.get_by_role("button", name="Lampirkan berkas").click()
    phone.fits()


def test_an_sktm_reaches_legal_aid_through_the_pages_and_not_the_babinsa(
    stack: Stack, phone: Phone, second_phone: Phone, tmp_path: Path
) -> None:
    officer = stack.ready_officer(GUNUNG_SARI_ILIR)
    case = _record_by_api(stack, officer["login"])
    page = sign_in(phone, officer["login"])
    phone.goto(f"/cases/{case['id']}")
    section = page.locator("#lampiran")
    expect(section.get_by_role("heading", name="Lampiran")).to_be_visible()
    expect(section).to_contain_text("Belum ada lampiran.")
    expect(section).to_contain_text("paling besar 5 MB")

    # a text file called .pdf: intake reads the content and refuses it, the page says why
    fake = tmp_path / "sktm.pdf"
    fake.write_bytes(b"ini bukan dokumen PDF")
    attach(phone, "SKTM (Surat Keterangan Tidak Mampu)", fake)
    expect(page.locator("#attach-file-error")).to_contain_text(
        "Jenis berkas tidak diterima: hanya foto JPEG, PNG atau WebP, atau dokumen PDF."
    )
    expect(page.locator(".error-summary a[href='#attach-file']")).to_be_visible()
    # too big: refused by the web app at intake's own limit, beside the field
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * LIMIT)
    attach(phone, "SKTM (Surat Keterangan Tidak Mampu)", big)
    expect(page.locator("#attach-file-error")).to_contain_text(
        "Berkas terlalu besar: paling besar 5 MB."
    )
    expect(page.get_by_label("Jenis lampiran")).to_have_value("sktm")  # the choice is kept

    sktm = tmp_path / "SKTM Putri.pdf"
    sktm.write_bytes(SKTM)
    attach(phone, "SKTM (Surat Keterangan Tidak Mampu)", sktm)
    expect(page.get_by_text("Lampiran tersimpan.")).to_be_visible()
    photo = tmp_path / "luka.png"
    photo.write_bytes(PHOTO)
    attach(phone, "Foto", photo)
    cards = section.locator(".card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("SKTM (Surat Keterangan Tidak Mampu)")
    expect(cards.nth(0)).to_contain_text("Dokumen PDF")
    expect(cards.nth(1)).to_contain_text("Gambar PNG")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top, height = page.evaluate(
        "(() => { const r = document.getElementById('lampiran').getBoundingClientRect();"
        " return [r.top + window.scrollY, r.height]; })()"
    )
    page.screenshot(  # the section, on the page as the phone shows it
        path=str(SCREENSHOTS / "casework-attachments.png"),
        full_page=True,
        clip={"x": 0, "y": max(0, top - 16), "width": 360, "height": height + 32},
    )

    # the officer's download: a real click, the same bytes
    with page.expect_download() as download:
        cards.nth(0).get_by_role("link", name="Unduh").click()
    assert Path(download.value.path()).read_bytes() == SKTM
    assert download.value.suggested_filename.startswith("sktm-")

    # Posbakum's paralegal: the SKTM on the legal-aid referral's page, not the photo
    def legal_aid_referral() -> str:
        for r in stack.referrals_of(POSBAKUM):
            if r["case_reference"] == case["reference"]:
                return str(r["id"])
        return ""

    referral_id = wait_until(legal_aid_referral, timeout=60)
    paralegal = stack.ready_person("partner_staff", name="Ibu Aminah", partner_slug=POSBAKUM)
    theirs = sign_in(second_phone, paralegal["login"])
    second_phone.goto(f"/referrals/{referral_id}")
    documents = theirs.locator(
        "section", has=theirs.get_by_role("heading", name="Dokumen dari PPATBM")
    )
    expect(documents.locator(".card")).to_have_count(1)
    expect(documents).to_contain_text("SKTM (Surat Keterangan Tidak Mampu)")
    href = documents.get_by_role("link", name="Unduh").get_attribute("href")
    assert href and href.startswith(f"/referrals/{referral_id}/documents/")
    got = second_phone.context.request.get(second_phone.base + href)
    assert got.status == 200 and got.body() == SKTM
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-disposition"].startswith("attachment;")
    second_phone.shot("casework-attachments-partner")

    # the Babinsa's staff: the same link is not found for them
    babinsa = stack.ready_person("partner_staff", name="Serda Yusuf", partner_slug=BABINSA)
    context = new_context(second_phone.context.browser)  # type: ignore[arg-type]
    try:
        third = Phone(context, stack.url("web"))
        sign_in(third, babinsa["login"])
        refused = third.context.request.get(third.base + href)
        assert refused.status == 404
        assert MARKER not in refused.body()
    finally:
        context.close()

    # deleting takes a second tap; the photo goes, the SKTM stays
    cards.nth(1).locator("summary", has_text="Hapus").click()
    cards.nth(1).get_by_role("button", name="Ya, hapus lampiran").click()
    expect(page.get_by_text("Lampiran dihapus.")).to_be_visible()
    expect(cards).to_have_count(1)
    phone.fits()
