"""The web app's own guarantees against the real intake: sessions and their ends, tokens
refreshed and revoked, CSRF, the sign-in limit, the headers, and a submit that intake does not
answer.

Intake runs as a process (`python -m jejaring.intake`, its default limits: access tokens of
5 minutes, sessions idle 30 minutes and 12 hours long) on a SQLite file with a real nats-server,
one per module; each test makes its own officer through intake's admin API and sets the password
with the one-time code. The web app runs in process under TestClient and calls intake over real
HTTP. Its limits (idle 30 minutes, 12 hours, refresh 30 s before the access token expires) are
checked on its own clock, which the tests move (`ShiftedClock`); intake's clock is never moved:
whether a session is still alive at intake is asked of intake itself (a refresh with the token
the web app held), and a session intake ends is ended there through its API. For the submit
intake does not answer, the intake process is stopped (SIGSTOP) and then let go on (SIGCONT),
and the cases are counted through intake's API. What the web app sent is read off a
note-taking wrapper around httpx's real transport; every answer is intake's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import ShiftedClock, identity_env, wait_status
from jejaring.web.app import create_app
from jejaring.web.settings import WebSettings

from .wire import Wire

ADMIN = "admin-token-for-web-security-tests-0000"
IDENTITY_KEY = "identity-key-for-web-security-tests-0123456789abcdef"
WITA = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "kata-sandi-yang-panjang"
KARANG_REJO = "64.71.04.1003"


@dataclass
class Intake:
    """The intake process, and the admin's and a person's calls to it."""

    url: str
    process: subprocess.Popen[bytes]

    def officer(self) -> str:
        """A new officer of Karang Rejo with a password set (through intake's API): the login."""
        login = f"petugas-{uuid.uuid4().hex[:8]}"
        made = httpx.post(
            f"{self.url}/api/v1/users",
            json={
                "name": "Ibu Wulan",
                "role": "officer",
                "kelurahan_code": KARANG_REJO,
                "login": login,
                "phone": "081300000001",
            },
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        setup = httpx.post(
            f"{self.url}/api/v1/auth/setup",
            json={"login": login, "code": made.json()["setup_code"], "password": PASSWORD},
            timeout=10,
        )
        assert setup.status_code == 204, setup.text
        return login

    def refresh(self, refresh_token: str) -> int:
        """Intake's status for a refresh with this token: 200 while its session lives."""
        return httpx.post(
            f"{self.url}/api/v1/auth/refresh", json={"refresh_token": refresh_token}, timeout=10
        ).status_code

    def sign_out(self, refresh_token: str) -> None:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/sign-out", json={"refresh_token": refresh_token}, timeout=10
        )
        assert answer.status_code == 204, answer.text

    def as_officer(self, login: str, path: str) -> Any:
        """GET `path` as the officer, with an access token of their own."""
        signed = httpx.post(
            f"{self.url}/api/v1/auth/sign-in",
            json={"login": login, "password": PASSWORD},
            timeout=10,
        )
        assert signed.status_code == 200, signed.text
        answer = httpx.get(
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {signed.json()['access_token']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    tmp = tmp_path_factory.mktemp("intake")
    nats = NatsServer(store_dir=tmp / "jetstream", log_file=tmp / "nats.log").start()
    port = free_port()
    env = {
        **os.environ,
        "INTAKE_PORT": str(port),
        "INTAKE_DATA_DIR": str(tmp),
        "INTAKE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'intake.db'}",
        "INTAKE_NATS_URL": nats.url,
        "INTAKE_ADMIN_TOKEN": ADMIN,
        **identity_env("intake", IDENTITY_KEY),
        "PYTHONUNBUFFERED": "1",
    }
    with open(tmp / "intake.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jejaring.intake"], env=env, stdout=log, stderr=log
        )
        try:
            wait_status(port, 200, timeout=60)
            yield Intake(f"http://127.0.0.1:{port}", process)
        finally:
            process.send_signal(signal.SIGCONT)  # in case a test left it stopped
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            nats.stop()


@dataclass(frozen=True)
class Held:
    """The tokens the web app holds for a session, read from its own database."""

    access_token: str
    refresh_token: str


class Web:
    def __init__(
        self,
        client: TestClient,
        wire: Wire,
        clock: ShiftedClock,
        intake: Intake,
        login: str,
        database: Path,
    ) -> None:
        self.client = client
        self.wire = wire
        self.clock = clock
        self.intake = intake
        self.login = login
        self.database = database

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, password: str = PASSWORD, next: str = "") -> httpx.Response:
        form = {"csrf": self.csrf("/sign-in"), "login": self.login, "password": password}
        if next:
            form["next"] = next
        return self.client.post("/sign-in", data=form, follow_redirects=False)

    def later(self, **delta: float) -> None:
        """Move the web app's clock on (intake's is never moved)."""
        self.clock.set(self.clock() + dt.timedelta(**delta))

    def held(self) -> Held:
        """The tokens of this browser's session in the web app's database."""
        cookie = self.client.cookies.get("jejaring_session")
        assert cookie, "not signed in"
        with sqlite3.connect(self.database) as db:
            row = db.execute(
                "SELECT access_token, refresh_token FROM web_session WHERE id_hash = ?",
                (hashlib.sha256(cookie.encode()).hexdigest(),),
            ).fetchone()
        assert row is not None, "no session in the web app's database"
        return Held(*row)


def make_web(tmp_path: Path, intake: Intake, **settings: Any) -> Iterator[Web]:
    wire = Wire()
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))
    database = tmp_path / "web.db"
    app = create_app(
        WebSettings(
            data_dir=tmp_path,
            database_url=f"sqlite+aiosqlite:///{database}",
            intake_url=intake.url,
            **settings,
        ),
        clock=clock,
        transport=wire,
    )
    base = str(settings.get("public_url", "http://testserver"))
    with TestClient(app, base_url=base) as client:
        yield Web(client, wire, clock, intake, intake.officer(), database)


@pytest.fixture
def web(tmp_path: Path, intake: Intake) -> Iterator[Web]:
    yield from make_web(tmp_path, intake, sign_in_failures_allowed=3)


@pytest.fixture
def impatient_web(tmp_path: Path, intake: Intake) -> Iterator[Web]:
    """A web app that waits 2 s for intake, so that a stopped intake is given up on quickly."""
    yield from make_web(tmp_path, intake, upstream_timeout_s=2)


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
    web.sign_in()
    cases = web.client.get("/cases")  # a page made from intake's answer
    assert cases.status_code == 200
    assert cases.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in cases.headers["content-security-policy"]


def test_a_session_is_a_random_httponly_cookie_and_ends_after_30_idle_minutes(web: Web) -> None:
    signed = web.sign_in(next="/cases?risk=high")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/cases?risk=high"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("jejaring_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert web.client.get("/cases").status_code == 200
    web.later(minutes=29)
    assert web.client.get("/cases").status_code == 200  # seen: the idle time starts again
    held = web.held()
    web.later(minutes=30)
    gone = web.client.get("/cases", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/sign-in?next=%2Fcases"
    assert web.intake.refresh(held.refresh_token) == 401, "the expired session is revoked at intake"


def test_a_session_ends_12_hours_after_sign_in_however_busy(web: Web) -> None:
    web.sign_in()
    answers = []
    for _ in range(12 * 4):
        held = web.held()
        web.later(minutes=15)
        answers.append(web.client.get("/cases", follow_redirects=False))
    assert [a.status_code for a in answers[:-1]] == [200] * (12 * 4 - 1)
    assert answers[-1].status_code == 303
    assert answers[-1].headers["location"].startswith("/sign-in")
    assert web.intake.refresh(held.refresh_token) == 401, "the ended session is revoked at intake"


def test_the_access_token_is_refreshed_and_sign_out_revokes_the_session(web: Web) -> None:
    web.sign_in()
    first = web.held()
    web.client.get("/cases")
    time.sleep(1.1)  # intake's access tokens name the second they were made: a new one differs
    web.later(seconds=35)  # 15 s before the access token (50 s) expires
    web.client.get("/cases")
    second = web.held()
    refreshes = web.wire.sent("POST", "/api/v1/auth/refresh")
    assert [(r.body, r.status) for r in refreshes] == [
        ({"refresh_token": first.refresh_token}, 200)
    ]
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert web.intake.refresh(first.refresh_token) == 401, "intake rotated the refresh token"
    lists = web.wire.sent("GET", "/api/v1/cases")
    assert [(r.headers["authorization"], r.status) for r in lists] == [
        (f"Bearer {first.access_token}", 200),
        (f"Bearer {second.access_token}", 200),
    ]
    out = web.client.post("/sign-out", data={"csrf": web.csrf("/cases")}, follow_redirects=False)
    assert out.headers["location"] == "/sign-in?done=signed_out"
    assert web.intake.refresh(second.refresh_token) == 401, "intake no longer knows the session"
    assert web.client.get("/cases", follow_redirects=False).status_code == 303


def test_a_session_intake_has_ended_ends_at_the_next_refresh(web: Web) -> None:
    """Intake ends a session by its own limits, a new password or deactivation; seen from the
    web app each is a refresh intake refuses (here the session is ended at intake directly)."""
    web.sign_in()
    assert web.client.get("/cases").status_code == 200
    web.intake.sign_out(web.held().refresh_token)
    assert web.client.get("/cases").status_code == 200  # the access token lives its 50 s
    web.later(seconds=50)
    gone = web.client.get("/cases", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/sign-in?next=%2Fcases"
    assert [r.status for r in web.wire.sent("POST", "/api/v1/auth/refresh")] == [401]
    with sqlite3.connect(web.database) as db:
        assert db.execute("SELECT count(*) FROM web_session").fetchone() == (0,)


def test_every_post_needs_the_forms_csrf_token(web: Web) -> None:
    stale = web.client.post("/sign-in", data={"login": web.login, "password": PASSWORD})
    assert stale.status_code == 403
    assert "Formulir sudah kedaluwarsa" in stale.text
    assert web.wire.sent("POST", "/api/v1/auth/sign-in") == []
    assert web.client.get("/cases", follow_redirects=False).status_code == 303
    web.sign_in()
    held = web.held()
    forged = web.client.post("/sign-out", data={"csrf": "not-the-token"})
    assert forged.status_code == 403
    assert web.wire.sent("POST", "/api/v1/auth/sign-out") == []
    other = web.client.post("/cases/new", data={"csrf": "", "step": "incident"})
    assert other.status_code == 403
    assert web.client.get("/cases").status_code == 200, "still signed in"
    assert web.intake.refresh(held.refresh_token) == 200, "intake still holds the session"


def test_failed_sign_ins_are_limited_per_address_with_the_same_answer(web: Web) -> None:
    wrong = [web.sign_in(password="salah-salah-salah") for _ in range(3)]
    assert all(r.status_code == 200 for r in wrong)
    assert all("Nama pengguna atau kata sandi salah" in r.text for r in wrong)
    limited = web.sign_in()  # the right password, but too many failures from here
    assert limited.status_code == 200
    assert "Nama pengguna atau kata sandi salah" in limited.text
    asked = web.wire.sent("POST", "/api/v1/auth/sign-in")
    assert [r.status for r in asked] == [401] * 3, "intake refused three and was not asked again"
    assert web.client.get("/cases", follow_redirects=False).status_code == 303
    web.later(minutes=16)
    assert web.sign_in().status_code == 303
    assert web.client.get("/cases").status_code == 200


def test_only_same_site_paths_are_followed_after_sign_in(web: Web) -> None:
    for target in ("//evil.example/cases", "https://evil.example/", "/\\evil.example", "cases"):
        answer = web.sign_in(next=target)
        assert answer.headers["location"] == "/", target


def test_cookies_are_secure_under_https(tmp_path: Path, intake: Intake) -> None:
    for web in make_web(tmp_path, intake, public_url="https://jejaring.example"):
        signed = web.sign_in()
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("__Host-jejaring_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        page = web.client.get("/cases")
        assert page.status_code == 200
        assert "strict-transport-security" in page.headers


def test_a_submit_intake_does_not_answer_keeps_every_answer_and_resends_the_same_key(
    impatient_web: Web, intake: Intake
) -> None:
    web = impatient_web
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
    submit = {**form, "step": "check", "action": "submit", "idempotency_key": key.group(1)}

    intake.process.send_signal(signal.SIGSTOP)
    try:
        failed = web.client.post("/cases/submit", data=submit, follow_redirects=False)
    finally:
        intake.process.send_signal(signal.SIGCONT)
    assert failed.status_code == 503
    assert "belum pasti apakah kasus tercatat" in failed.text
    assert f'name="idempotency_key" value="{key.group(1)}"' in failed.text
    assert 'name="victims-0-name" value="Siti Rahmawati"' in failed.text
    wait_status(int(intake.url.rsplit(":", 1)[1]), 200)
    # Intake, running again, may still record the request it was sent while stopped (it has
    # done so in every run here); either way the key makes one case of them.

    again = web.client.post("/cases/submit", data=submit, follow_redirects=False)
    assert again.status_code == 303
    recorded = re.fullmatch(r"/cases/([0-9a-f-]{36})\?recorded=1", again.headers["location"])
    assert recorded is not None, again.headers["location"]
    pressed_twice = web.client.post("/cases/submit", data=submit, follow_redirects=False)
    assert pressed_twice.headers["location"] == again.headers["location"]

    cases = web.intake.as_officer(web.login, "/api/v1/cases?per_page=100")
    assert [c["id"] for c in cases["items"]] == [recorded.group(1)], "exactly one case"
    posts = web.wire.sent("POST", "/api/v1/cases")
    assert [p.headers["idempotency-key"] for p in posts] == [key.group(1)] * 3
    assert posts[0].body == posts[1].body == posts[2].body
    assert posts[0].status is None, "intake did not answer the first"
    assert posts[2].answer_headers.get("idempotent-replayed") == "true"
    case = web.intake.as_officer(web.login, f"/api/v1/cases/{recorded.group(1)}")
    assert dt.datetime.fromisoformat(case["reported_at"]) == dt.datetime(
        2026, 11, 20, 9, 0, tzinfo=WITA
    )
    assert case["kelurahan"]["code"] == KARANG_REJO
    assert [v["name"] for v in case["victims"]] == ["Siti Rahmawati"]


def web_process(tmp_path: Path, intake: Intake, trusted_proxy: str) -> tuple[str, Any]:
    """The web app as compose runs it (`python -m jejaring.web`, uvicorn), believing
    X-Forwarded-For only from `trusted_proxy` (WEB_FORWARDED_ALLOW_IPS)."""
    port = free_port()
    env = {
        **os.environ,
        "WEB_PORT": str(port),
        "WEB_DATA_DIR": str(tmp_path),
        "WEB_INTAKE_URL": intake.url,
        "WEB_SIGN_IN_FAILURES_ALLOWED": "3",
        "WEB_FORWARDED_ALLOW_IPS": trusted_proxy,
    }
    log = open(tmp_path / "web.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "jejaring.web"], env=env, stdout=log, stderr=log
    )
    wait_status(port, 200, timeout=60)
    return f"http://127.0.0.1:{port}", process


def sign_in_from(url: str, login: str, password: str, visitor: str) -> int:
    """A sign-in through a proxy that says the visitor is `visitor` (as Caddy does)."""
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": visitor}, timeout=10) as browser:
        page = browser.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        form = {"csrf": csrf.group(1), "login": login, "password": password}
        return browser.post("/sign-in", data=form).status_code


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_proxy_the_sign_in_limit_counts_each_visitor(
    tmp_path: Path, intake: Intake, trusted: bool
) -> None:
    """From the proxy it trusts, the web app takes the visitor's address from X-Forwarded-For:
    one visitor's failures do not lock out another behind the same proxy. From any other
    address the header is ignored (a client cannot pick its address to escape the limit)."""
    url, process = web_process(tmp_path, intake, "127.0.0.1" if trusted else "192.0.2.80")
    try:
        login = intake.officer()
        for _ in range(3):
            assert sign_in_from(url, login, "salah-salah-salah", "203.0.113.5") == 200
        other_visitor = sign_in_from(url, login, PASSWORD, "203.0.113.6")
        assert other_visitor == (303 if trusted else 200)  # 200: the wrong-password page
        assert sign_in_from(url, login, PASSWORD, "203.0.113.5") == 200
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_pages_calls_to_intake_continue_its_trace_and_carry_nothing_else_new(web: Web) -> None:
    web.sign_in()
    caller_trace, caller_span = "ab" * 16, "cd" * 8
    web.client.get("/cases", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    (listed,) = web.wire.sent("GET", "/api/v1/cases")
    version, trace_id, span_id, flags = listed.headers["traceparent"].split("-")
    # the page's own span, in the browser's trace; W3C trace context only: random ids, a flag
    assert (version, trace_id, flags) == ("00", caller_trace, "01")
    assert len(span_id) == 16 and span_id != caller_span
    web.client.get("/cases")  # no caller's trace: the page starts one
    _, second = web.wire.sent("GET", "/api/v1/cases")
    assert second.headers["traceparent"].split("-")[1] not in (caller_trace, "0" * 32)
