"""Possible duplicates in a real browser on a phone (issue 20, item 5): an officer records, on
the pages, a child already in an open case (her name typed another way); the case page then
warns and links the other case. The coordinator merges the new case into the first one, after
a check page, and lands on the kept case, which lists the merged one."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from jejaring.testing import CHILD_NAME, EXAMPLE_CASE

from .conftest import KARANG_REJO, SCREENSHOTS, Phone, Stack
from .test_officer import example_case, sign_in


def _first_case(stack: Stack, login: str) -> dict[str, Any]:
    """The child's first case, recorded through intake's API: her name in other spacing and
    case than the pages will type it."""
    victim = {**EXAMPLE_CASE["victims"][0], "name": "  " + CHILD_NAME.upper().replace(" ", "  ")}
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/cases",
        json={**EXAMPLE_CASE, "kelurahan_code": KARANG_REJO, "victims": [victim]},
        headers={"Authorization": f"Bearer {stack.token(login)}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    assert case["possible_duplicates"] == []
    return case


def test_the_officer_is_warned_and_the_coordinator_merges_after_a_check(
    stack: Stack, phone: Phone, second_phone: Phone
) -> None:
    officer = stack.ready_officer(KARANG_REJO, name="Ibu Wulan")
    first = _first_case(stack, officer["login"])

    page = sign_in(phone, officer["login"])
    example_case(phone)  # the same child: Putri Ayu Lestari, born 1 May 2014
    page.get_by_role("button", name="Kirim kasus").click()
    expect(page.get_by_role("heading", name="Kasus tercatat")).to_be_visible()
    phone.fits()
    warning = page.locator("#possible-duplicates")
    expect(warning).to_contain_text("Kemungkinan kasus ganda")
    expect(warning).to_contain_text("minta koordinator menggabungkan")
    expect(warning.get_by_role("link", name=first["reference"])).to_be_visible()
    assert CHILD_NAME not in warning.inner_text()  # references only
    # the top of the page, as the officer sees it on the phone (the whole page is long)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "casework-duplicates.png"))
    second_url = page.url.split("?")[0]
    second_id = second_url.rsplit("/", 1)[1]
    assert page.get_by_role("link", name="Gabungkan kasus").count() == 0  # not the officer's
    warning.get_by_role("link", name=first["reference"]).click()
    phone.fits()
    expect(page.get_by_role("heading", name=f"Kasus {first['reference']}")).to_be_visible()

    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    page = sign_in(second_phone, coordinator["login"])
    page = second_phone.goto(f"/cases/{second_id}")
    page.get_by_role("link", name="Gabungkan kasus").click()
    second_phone.fits()
    expect(page.get_by_role("heading", name="Gabungkan kasus")).to_be_visible()
    # nothing chosen: the error summary names the question
    page.get_by_role("button", name="Lanjut").click()
    second_phone.fits()
    expect(page.get_by_role("alert")).to_contain_text("Pilih kasus yang dipertahankan")
    page.get_by_label(first["reference"]).check()
    page.get_by_role("button", name="Lanjut").click()
    second_phone.fits()
    expect(page.get_by_role("heading", name="Periksa sebelum menggabungkan")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text(first["reference"])
    second_phone.shot("casework-duplicates-merge")
    page.get_by_role("button", name="Ya, gabungkan kasus").click()
    second_phone.fits()

    expect(page.get_by_role("heading", name=f"Kasus {first['reference']}")).to_be_visible()
    expect(page.locator("#merged-from")).to_contain_text("Digabungkan ke kasus ini:")
    expect(page.locator("#possible-duplicates")).to_have_count(0)
    page.locator("#merged-from").get_by_role("link").click()
    second_phone.fits()
    expect(page.locator("#merged-into")).to_contain_text(first["reference"])
    expect(page.get_by_text("Kasus ganda").first).to_be_visible()  # its outcome
    assert phone.console_errors == second_phone.console_errors == []
