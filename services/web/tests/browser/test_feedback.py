"""The survivors' ratings on the coordinator's board, in a real browser on a phone: cases closed
whose survivors may be asked, the partners that helped them, each survivor's SMS reply (posted
as the SMS gateway posts it), and the ratings per partner on the board."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from jejaring.testing import THREE_WAY_CASE

from .conftest import ADMIN, INBOUND_TOKEN, SCREENSHOTS, SUMBER_REJO, Phone, Stack, wait_until
from .test_officer import sign_in


def _closed_and_rated(
    stack: Stack, login: str, phone_number: str, helpers: tuple[str, ...], score: str
) -> None:
    """A case of a survivor safe to contact, accepted by `helpers`, closed, and her reply."""
    who = {"Authorization": f"Bearer {stack.token(login)}"}
    intake, referral = stack.url("intake"), stack.url("referral")
    victim = {"name": "Dewi", "sex": "female", "age": 30, "phone": phone_number}
    body = THREE_WAY_CASE | {
        "kelurahan_code": SUMBER_REJO,
        "victims": [victim | {"safe_to_contact": True}],
    }
    case: dict[str, Any] = httpx.post(f"{intake}/api/v1/cases", json=body, headers=who).json()
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for slug in helpers:
        token = httpx.post(f"{referral}/api/v1/partners/{slug}/token", headers=admin).json()

        def held(slug: str = slug) -> list[dict[str, Any]]:
            return [r for r in stack.referrals_of(slug) if r["case_reference"] == case["reference"]]

        (referral_row,) = wait_until(held, timeout=60)
        answered = httpx.post(
            f"{referral}/api/v1/referrals/{referral_row['id']}/status",
            json={"status": "accepted"},
            headers={"Authorization": f"Bearer {token['token']}"},
        )
        assert answered.status_code == 200, answered.text

    def accepted() -> bool:
        rows = httpx.get(f"{intake}/api/v1/cases/{case['id']}", headers=who).json()["referrals"]
        return {r["partner_slug"] for r in rows if r["status"] == "accepted"} == set(helpers)

    wait_until(accepted, timeout=30)
    closed = httpx.post(
        f"{intake}/api/v1/cases/{case['id']}/close", json={"outcome": "resolved"}, headers=who
    )
    assert closed.status_code == 200, closed.text

    def replied() -> bool:  # once notify holds her request
        r = httpx.post(
            f"{stack.url('notify')}/api/v1/sms/inbound",
            json={"from": phone_number, "message": score},
            headers={"Authorization": f"Bearer {INBOUND_TOKEN}"},
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["recorded"])

    wait_until(replied, timeout=30)


def test_the_board_shows_the_survivors_ratings_per_partner(stack: Stack, phone: Phone) -> None:
    officer = stack.ready_officer(SUMBER_REJO)
    _closed_and_rated(
        stack, officer["login"], "081377770011", ("posbakum-aisyiyah", "bikksa-mentari"), "5"
    )
    _closed_and_rated(stack, officer["login"], "081377770012", ("posbakum-aisyiyah",), " 4.")
    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    page = sign_in(phone, coordinator["login"])
    phone.goto("/board")
    section = page.locator("section", has=page.locator("#feedback-heading"))
    expect(section.get_by_role("heading", name="Penilaian penyintas")).to_be_visible()
    posbakum = section.locator(".card", has_text="posbakum-aisyiyah")
    expect(posbakum).to_contain_text("2 jawaban · rata-rata 4,5 dari 5")
    expect(section.locator(".card", has_text="bikksa-mentari")).to_contain_text(
        "1 jawaban · rata-rata 5,0 dari 5"
    )
    expect(section).not_to_contain_text("081377770011")
    page.get_by_role("link", name="English").click()  # the language switch
    english = page.locator("section", has=page.locator("#feedback-heading"))
    expect(english.get_by_role("heading", name="Survivors' ratings")).to_be_visible()
    expect(english.locator(".card", has_text="posbakum-aisyiyah")).to_contain_text(
        "2 answers · average 4.5 out of 5"
    )
    page.get_by_role("link", name="Bahasa Indonesia").click()
    phone.fits()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SCREENSHOTS / "casework-feedback.png"))
    assert phone.console_errors == []
