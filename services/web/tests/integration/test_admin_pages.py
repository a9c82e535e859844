"""The admin's pages with the services faked on httpx's transport: what reaches the services,
what never reaches a page (a message's text), CSRF, and that nobody else finds them."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from jejaring.testing import ShiftedClock
from jejaring.web.app import create_app
from jejaring.web.settings import WebSettings

from .test_security import PERSON, WITA, FakeServices, Web

ADMIN = {**PERSON, "id": str(uuid.uuid4()), "name": "Pak Hendra", "role": "admin"}
ADMIN["kelurahan_code"] = None
SECRET_TEXT = "Isi pesan rahasia untuk mitra"
NOW = "2026-11-20T10:00:00+08:00"


class FakeAdminServices(FakeServices):
    """intake's users, referral's partners and notify's log, as an admin reads them."""

    def __init__(self, person: dict[str, Any]) -> None:
        super().__init__()
        self.person = person

    def tokens(self) -> dict[str, Any]:
        return {**super().tokens(), "person": self.person}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path.startswith("/api/v1/auth/") or not request.headers.get(
            "authorization", ""
        ).startswith("Bearer access-"):
            return super().__call__(request)
        self.calls.append((method, path, dict(request.headers), request.content))
        if (method, path) == ("GET", "/api/v1/users"):
            return httpx.Response(200, json=[{**self.person, "login": "hendra", "active": True}])
        if (method, path) == ("POST", "/api/v1/users"):
            return httpx.Response(
                422,
                json={"detail": [{"field": "phone", "code": "string_pattern_mismatch",
                                  "message": "Nomor telepon tidak valid.",
                                  "message_en": "Invalid phone number."}]},
            )  # fmt: skip
        if (method, path) == ("GET", "/api/v1/partners"):
            return httpx.Response(200, json=[])
        if (method, path) == ("GET", "/api/v1/deliveries"):
            row = {
                "id": str(uuid.uuid4()),
                "trigger": "referral_requested",
                "case_reference": "BPT-2026-000001",
                "recipient_name": "Piket Unit PPA",
                "recipient_role": "partner",
                "recipient": "+62 811 0000 101",
                "channel": "sms",
                "urgent": False,
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": NOW,
                "created_at": NOW,
                "sent_at": NOW,
                "last_error": None,
                "body": SECRET_TEXT,
            }
            return httpx.Response(200, json=[row])
        return httpx.Response(404, json={"detail": []})


def _signed_in(tmp_path: Path, person: dict[str, Any]) -> Iterator[Web]:
    fake = FakeAdminServices(person)
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))
    app = create_app(
        WebSettings(data_dir=tmp_path), clock=clock, transport=httpx.MockTransport(fake)
    )
    with TestClient(app) as client:
        web = Web(client, fake, clock)
        assert web.sign_in().status_code == 303
        yield web


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Web]:
    yield from _signed_in(tmp_path, ADMIN)


@pytest.fixture
def officer(tmp_path: Path) -> Iterator[Web]:
    yield from _signed_in(tmp_path, PERSON)


def test_the_admin_lands_on_the_admin_menu_and_every_admin_page_is_not_stored(admin: Web) -> None:
    start = admin.client.get("/", follow_redirects=False)
    assert start.headers["location"] == "/admin"
    for path in ("/admin", "/admin/people", "/admin/people/new", "/admin/partners",
                 "/admin/partners/new", "/admin/deliveries"):  # fmt: skip
        page = admin.client.get(path)
        assert page.status_code == 200, path
        assert page.headers["cache-control"] == "no-store", path


def test_the_delivery_log_never_shows_a_messages_text(admin: Web) -> None:
    page = admin.client.get("/admin/deliveries", params={"case_reference": "BPT-2026-000001"})
    assert "Piket Unit PPA" in page.text
    assert SECRET_TEXT not in page.text
    sent = admin.fake.sent("GET", "/api/v1/deliveries")
    assert sent, "notify was not asked"


def test_a_refusal_is_shown_beside_its_field_and_what_was_typed_stays(admin: Web) -> None:
    form = {"csrf": admin.csrf("/admin/people/new"), "name": "Ibu Sari", "role": "coordinator",
            "kelurahan": "64.71.04.1003", "phone": "12"}  # fmt: skip
    page = admin.client.post("/admin/people/new", data=form)
    assert page.status_code == 200
    assert re.search(r'id="phone-error"[^>]*>.*Nomor telepon hanya angka', page.text, re.S)
    assert 'value="Ibu Sari"' in page.text
    (_, body), *_ = [
        (h, b) for m, p, h, b in admin.fake.calls if (m, p) == ("POST", "/api/v1/users")
    ]
    assert b"kelurahan_code" not in body, "a kelurahan goes with an officer only"


def test_admin_posts_need_the_csrf_token(admin: Web) -> None:
    page = admin.client.post("/admin/people/new", data={"name": "X", "role": "admin"})
    assert page.status_code == 403
    assert not [c for c in admin.fake.calls if c[:2] == ("POST", "/api/v1/users")]


def test_an_officer_finds_no_admin_page(officer: Web) -> None:
    for path in ("/admin", "/admin/people", "/admin/partners", "/admin/deliveries"):
        page = officer.client.get(path)
        assert page.status_code == 404, path
        assert "Pak Hendra" not in page.text
    assert not [c for c in officer.fake.calls if "/users" in c[1] or "/deliveries" in c[1]]


def test_the_admin_cannot_deactivate_themselves(admin: Web) -> None:
    page = admin.client.get(f"/admin/people/{ADMIN['id']}/deactivate")
    assert page.status_code == 404
    assert "Nonaktifkan" not in admin.client.get("/admin/people").text.split("Pak Hendra")[1]
