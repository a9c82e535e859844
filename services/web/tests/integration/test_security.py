"""The web app's own guarantees, with the services replaced by a fake on httpx's transport:
sessions and their ends, tokens refreshed and revoked, CSRF, the sign-in limit, the headers, and
a submit that intake does not answer. (The real services are in tests/browser.)"""

from __future__ import annotations

import datetime as dt
import json
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

WITA = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "kata-sandi-yang-panjang"
PERSON = {
    "id": str(uuid.uuid4()),
    "name": "Ibu Wulan",
    "role": "officer",
    "kelurahan_code": "64.71.04.1003",
    "partner_slug": None,
}


class FakeServices:
    """Intake's auth and case endpoints as the web app uses them, and what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.issued = 0
        self.refresh_tokens: set[str] = set()
        self.revoked: list[str] = []
        self.case_answers: list[int] = []  # statuses POST /cases answers, in turn (then 201)

    def tokens(self) -> dict[str, Any]:
        self.issued += 1
        refresh = f"refresh-{self.issued}"
        self.refresh_tokens.add(refresh)
        return {
            "access_token": f"access-{self.issued}",
            "expires_in": 300,
            "refresh_token": refresh,
            "person": PERSON,
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        self.calls.append((request.method, path, dict(request.headers), body))
        if path == "/api/v1/auth/sign-in":
            if body == {"login": "wulan", "password": PASSWORD}:
                return httpx.Response(200, json=self.tokens())
            return httpx.Response(401, json={"detail": []})
        if path == "/api/v1/auth/refresh":
            if body["refresh_token"] in self.refresh_tokens:
                self.refresh_tokens.discard(body["refresh_token"])  # rotated
                return httpx.Response(200, json=self.tokens())
            return httpx.Response(401, json={"detail": []})
        if path == "/api/v1/auth/sign-out":
            self.revoked.append(body["refresh_token"])
            self.refresh_tokens.discard(body["refresh_token"])
            return httpx.Response(204)
        if not request.headers.get("authorization", "").startswith("Bearer access-"):
            return httpx.Response(401, json={"detail": []})
        if path == "/api/v1/cases" and request.method == "GET":
            return httpx.Response(200, json={"items": [], "total": 0, "page": 1, "per_page": 20})
        if path == "/api/v1/cases/check":
            return httpx.Response(204)
        if path == "/api/v1/cases" and request.method == "POST":
            status = self.case_answers.pop(0) if self.case_answers else 201
            if status == 201:
                return httpx.Response(201, json={"id": str(uuid.uuid4()), "reference": "BPT-1"})
            return httpx.Response(status, json={"detail": []})
        return httpx.Response(404, json={"detail": []})

    def sent(self, method: str, path: str) -> list[tuple[dict[str, str], Any]]:
        return [(h, b) for m, p, h, b in self.calls if (m, p) == (method, path)]


class Web:
    def __init__(self, client: TestClient, fake: FakeServices, clock: ShiftedClock) -> None:
        self.client = client
        self.fake = fake
        self.clock = clock

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, password: str = PASSWORD, next: str = "") -> httpx.Response:
        form = {"csrf": self.csrf("/sign-in"), "login": "wulan", "password": password}
        if next:
            form["next"] = next
        return self.client.post("/sign-in", data=form, follow_redirects=False)


def make_web(tmp_path: Path, **settings: Any) -> Iterator[Web]:
    fake = FakeServices()
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))
    app = create_app(
        WebSettings(data_dir=tmp_path, **settings), clock=clock, transport=httpx.MockTransport(fake)
    )
    base = str(settings.get("public_url", "http://testserver"))
    with TestClient(app, base_url=base) as client:
        yield Web(client, fake, clock)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    yield from make_web(tmp_path, sign_in_failures_allowed=3)


def test_every_page_but_static_files_is_not_stored_and_carries_the_security_headers(
    web: Web,
) -> None:
    page = web.client.get("/sign-in")
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and "style=" not in page.text
    static = web.client.get("/static/app.css")
    assert static.status_code == 200
    assert static.headers.get("cache-control") != "no-store"
    missing = web.client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


def test_a_session_is_a_random_httponly_cookie_and_ends_after_30_idle_minutes(web: Web) -> None:
    signed = web.sign_in(next="/cases?risk=high")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/cases?risk=high"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("jejaring_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert web.client.get("/cases").status_code == 200
    web.clock.set(web.clock() + dt.timedelta(minutes=29))
    assert web.client.get("/cases").status_code == 200  # seen: the idle time starts again
    web.clock.set(web.clock() + dt.timedelta(minutes=30))
    gone = web.client.get("/cases", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/sign-in?next=%2Fcases"
    assert web.fake.revoked, "the expired session is revoked at intake"


def test_a_session_ends_12_hours_after_sign_in_however_busy(web: Web) -> None:
    web.sign_in()
    for _ in range(12 * 4):
        web.clock.set(web.clock() + dt.timedelta(minutes=15))
        answer = web.client.get("/cases", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


def test_the_access_token_is_refreshed_and_sign_out_revokes_the_session(web: Web) -> None:
    web.sign_in()
    web.client.get("/cases")
    web.clock.set(web.clock() + dt.timedelta(minutes=4, seconds=45))  # 15 s before it expires
    web.client.get("/cases")
    assert web.fake.sent("POST", "/api/v1/auth/refresh") == [
        (web.fake.sent("POST", "/api/v1/auth/refresh")[0][0], {"refresh_token": "refresh-1"})
    ]
    lists = web.fake.sent("GET", "/api/v1/cases")
    assert [h["authorization"] for h, _ in lists] == ["Bearer access-1", "Bearer access-2"]
    out = web.client.post("/sign-out", data={"csrf": web.csrf("/cases")}, follow_redirects=False)
    assert out.headers["location"] == "/sign-in?done=signed_out"
    assert web.fake.revoked == ["refresh-2"]
    assert web.client.get("/cases", follow_redirects=False).status_code == 303


def test_every_post_needs_the_forms_csrf_token(web: Web) -> None:
    stale = web.client.post("/sign-in", data={"login": "wulan", "password": PASSWORD})
    assert stale.status_code == 403
    assert "Formulir sudah kedaluwarsa" in stale.text
    assert web.fake.sent("POST", "/api/v1/auth/sign-in") == []
    web.sign_in()
    forged = web.client.post("/sign-out", data={"csrf": "not-the-token"})
    assert forged.status_code == 403
    assert web.fake.revoked == []
    other = web.client.post("/cases/new", data={"csrf": "", "step": "incident"})
    assert other.status_code == 403


def test_failed_sign_ins_are_limited_per_address_with_the_same_answer(web: Web) -> None:
    wrong = [web.sign_in(password="salah-salah-salah") for _ in range(3)]
    assert all(r.status_code == 200 for r in wrong)
    assert all("Nama pengguna atau kata sandi salah" in r.text for r in wrong)
    limited = web.sign_in()  # the right password, but too many failures from here
    assert limited.status_code == 200
    assert "Nama pengguna atau kata sandi salah" in limited.text
    assert len(web.fake.sent("POST", "/api/v1/auth/sign-in")) == 3, "intake was not asked"
    web.clock.set(web.clock() + dt.timedelta(minutes=16))
    assert web.sign_in().status_code == 303


def test_only_same_site_paths_are_followed_after_sign_in(web: Web) -> None:
    for target in ("//evil.example/cases", "https://evil.example/", "/\\evil.example", "cases"):
        answer = web.sign_in(next=target)
        assert answer.headers["location"] == "/", target


def test_cookies_are_secure_under_https(tmp_path: Path) -> None:
    for web in make_web(tmp_path, public_url="https://jejaring.example"):
        signed = web.sign_in()
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("__Host-jejaring_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        page = web.client.get("/cases")
        assert "strict-transport-security" in page.headers


def test_a_submit_intake_does_not_answer_keeps_every_answer_and_resends_the_same_key(
    web: Web,
) -> None:
    web.sign_in()
    form = {
        "csrf": web.csrf("/cases"),
        "reported_at": "2026-11-20T09:00",
        "place": "household",
        "violence_forms": "physical",
        "risk_level": "medium",
        "reporter_kind": "neighbour",
        "victim_count": "1",
        "victims-0-name": "Siti Rahmawati",
        "victims-0-sex": "female",
        "victims-0-age": "34",
        "perpetrator-relationship": "spouse",
        "perpetrator-is_child": "no",
        "needs": "counselling",
        "consent-given_by": "victim",
        "consent-scope": "counselling",
        "step": "consent",
        "action": "continue",
    }
    check = web.client.post("/cases/new", data=form)
    assert "Periksa jawaban Anda" in check.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', check.text)
    assert key is not None
    web.fake.case_answers = [503]
    submit = {**form, "step": "check", "action": "submit", "idempotency_key": key.group(1)}
    failed = web.client.post("/cases/submit", data=submit, follow_redirects=False)
    assert failed.status_code == 503
    assert "belum pasti apakah kasus tercatat" in failed.text
    assert f'name="idempotency_key" value="{key.group(1)}"' in failed.text
    assert 'name="victims-0-name" value="Siti Rahmawati"' in failed.text
    again = web.client.post("/cases/submit", data=submit, follow_redirects=False)
    assert again.status_code == 303
    posts = web.fake.sent("POST", "/api/v1/cases")
    assert [h["idempotency-key"] for h, _ in posts] == [key.group(1)] * 2
    assert posts[0][1] == posts[1][1]
    assert posts[0][1]["reported_at"] == "2026-11-20T09:00:00+08:00"
    assert posts[0][1]["kelurahan_code"] == PERSON["kelurahan_code"]
