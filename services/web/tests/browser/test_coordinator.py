"""The coordinator in a real browser on a phone: the board lists a referral past its deadline
(a partner that has about a second to accept), each item opens its case, and every case of the
kecamatan can be listed by kelurahan."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from jejaring.testing import THREE_WAY_CASE

from .conftest import ADMIN, MEKAR_SARI, Phone, Stack, wait_until
from .test_officer import VICTIM, sign_in


def _quick_partner(stack: Stack) -> str:
    """A shelter that has about a second to accept any referral (0.0003 hours)."""
    slug = f"shelter-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        f"{stack.url('referral')}/api/v1/partners",
        json={
            "slug": slug,
            "name": "Rumah Aman Uji",
            "kind": "shelter",
            "services": ["shelter"],
            "deadlines": {"high": 0.0003, "medium": 0.0003, "low": 0.0003},
        },
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return slug


def _record(stack: Stack, login: str, **changes: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{stack.url('intake')}/api/v1/cases",
        json={**THREE_WAY_CASE, **changes},
        headers={"Authorization": f"Bearer {stack.token(login)}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    return case


def test_the_board_lists_an_overdue_referral_and_opens_its_case(stack: Stack, phone: Phone) -> None:
    slug = _quick_partner(stack)
    officer = stack.ready_officer(MEKAR_SARI)
    case = _record(
        stack,
        officer["login"],
        kelurahan_code=MEKAR_SARI,
        risk_level="high",
        needs=["shelter", "legal_aid"],
        consent={"given_by": "victim", "scope": ["shelter", "legal_aid"]},
        legal_aid_proof=None,
    )
    coordinator = stack.ready_person("coordinator", name="Bapak Kasi Kesos")
    page = sign_in(phone, coordinator["login"])
    expect(page.get_by_role("heading", name="Papan tindak lanjut")).to_be_visible()

    def overdue_on_the_board() -> bool:
        phone.goto("/board")
        late = page.locator("#late-heading ~ ul .card", has_text=case["reference"])
        return late.count() == 1 and slug in late.inner_text()

    wait_until(overdue_on_the_board, timeout=60)
    late = page.locator("#late-heading ~ ul .card", has_text=case["reference"])
    expect(late).to_contain_text("Kelurahan Mekar Sari")
    expect(late).to_contain_text("Rumah Aman")  # the service's label
    expect(late.locator(".countdown")).to_contain_text("lewat")
    # legal aid without proof waits for it; a high-risk case nobody has accepted yet
    waiting = page.locator("#eligibility_pending-heading ~ ul .card", has_text=case["reference"])
    expect(waiting).to_contain_text("Menunggu bukti tidak mampu")
    high = page.locator("#high_risk_unaccepted-heading ~ ul .card", has_text=case["reference"])
    expect(high).to_have_count(1)
    assert VICTIM not in page.content(), "the board shows no victim's name"
    phone.fits()
    phone.shot("coordinator-board")

    late.get_by_role("link", name=case["reference"]).click()
    phone.fits()
    expect(page.get_by_role("heading", name=f"Kasus {case['reference']}")).to_be_visible()
    expect(page.locator("#referrals-heading + ul")).to_contain_text(slug)

    # every case of the kecamatan, by kelurahan
    page.get_by_role("link", name="Semua kasus").first.click()
    phone.fits()
    expect(page.get_by_role("heading", name="Kasus", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Catat kasus baru")).to_have_count(0)
    page.get_by_text("Saring daftar", exact=True).click()
    page.get_by_label("Kelurahan").select_option(label="Mekar Sari")
    page.get_by_role("button", name="Terapkan saringan").click()
    phone.fits()
    expect(page.get_by_role("link", name=case["reference"])).to_be_visible()
    expect(page.locator(".card").first).to_contain_text("Kelurahan Mekar Sari")
    page.get_by_label("Kelurahan").select_option(label="Karang Rejo")
    page.get_by_role("button", name="Terapkan saringan").click()
    expect(page.get_by_role("link", name=case["reference"])).to_have_count(0)

    # the board for one kelurahan
    phone.goto(f"/board?kelurahan={MEKAR_SARI}")
    expect(page.locator("#late-heading ~ ul .card", has_text=case["reference"])).to_have_count(1)
    phone.goto("/board?kelurahan=64.71.04.1001")
    expect(page.locator("#late-heading ~ ul .card", has_text=case["reference"])).to_have_count(0)

    for url, headers in phone.documents:
        if "/static/" not in url:
            assert headers.get("cache-control") == "no-store", url
    assert phone.console_errors == []
