"""The whole system as real processes (nats-server, intake, referral, notify and report on
SQLite files, and the web app) and a real Chromium driven by Playwright on a phone-sized screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import identity_env, until, wait_status

ADMIN = "admin-token-for-browser-tests-0000"
IDENTITY_KEY = "identity-key-for-browser-tests-0123456789abcdef"
SERVICES = ("intake", "referral", "notify", "report")
# Officers see every case of their kelurahan: each test that counts cases has its own.
GUNUNG_SARI_ULU = "64.71.04.1001"
GUNUNG_SARI_ILIR = "64.71.04.1002"
KARANG_REJO = "64.71.04.1003"
KARANG_JATI = "64.71.04.1004"
MEKAR_SARI = "64.71.04.1005"
SUMBER_REJO = "64.71.04.1006"
PASSWORD = "kata-sandi-yang-panjang-2026"
INBOUND_TOKEN = "sms-inbound-token-for-browser-tests-01"
VIEWPORT = {"width": 360, "height": 780}
# `make screenshots` writes them where the README shows them (docs/screenshots); a plain test run
# takes them too (they must not fail) but keeps them out of the work tree.
SCREENSHOTS = Path(
    os.environ.get("JEJARING_SCREENSHOTS_DIR")
    or Path(tempfile.gettempdir()) / "jejaring-screenshots"
)


@dataclass
class Stack:
    """The running processes and how to reach them."""

    tmp: Path
    nats: NatsServer
    ports: dict[str, int] = field(
        default_factory=lambda: {s: free_port() for s in (*SERVICES, "web")}
    )
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        prefix = name.upper() + "_"
        env = {
            **os.environ,
            prefix + "PORT": str(self.ports[name]),
            prefix + "DATA_DIR": str(self.tmp / "data"),
            "PYTHONUNBUFFERED": "1",
        }
        if name == "web":
            env.update(
                {f"WEB_{s.upper()}_URL": self.url(s) for s in SERVICES},
                WEB_PUBLIC_URL=self.url("web"),
            )
        else:
            env.update(
                {
                    prefix + "NATS_URL": self.nats.url,
                    prefix + "RELAY_POLL_INTERVAL_S": "0.2",
                    "NOTIFY_DISPATCH_INTERVAL_S": "0.2",
                    # deadlines of a second or so are marked overdue within half a second
                    "REFERRAL_DEADLINE_CHECK_INTERVAL_S": "0.5",
                    "NOTIFY_PUBLIC_URL": self.url("web"),
                    # the SMS gateway posts survivors' replies with it (test_feedback.py)
                    "NOTIFY_SMS_INBOUND_TOKEN": INBOUND_TOKEN,
                    prefix + "ADMIN_TOKEN": ADMIN,
                    **identity_env(name, IDENTITY_KEY),
                }
            )
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"jejaring.{name}"], env=env, stdout=log, stderr=log
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.nats.stop()

    # --- the admin's and an officer's API calls, to set up and to count ----------------------

    def add_officer(self, kelurahan: str = KARANG_REJO, name: str = "Ibu Wulan") -> dict[str, Any]:
        """An officer made through intake's admin API: their login and one-time setup code."""
        login = f"petugas-{uuid.uuid4().hex[:8]}"
        r = httpx.post(
            f"{self.url('intake')}/api/v1/users",
            json={
                "name": name,
                "role": "officer",
                "kelurahan_code": kelurahan,
                "login": login,
                "phone": "081300000001",
            },
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return {"login": r.json()["login"], "code": r.json()["setup_code"]}

    def ready_officer(
        self, kelurahan: str = KARANG_REJO, name: str = "Ibu Wulan"
    ) -> dict[str, Any]:
        """An officer whose password is set already (through intake's API)."""
        officer = self.add_officer(kelurahan, name)
        r = httpx.post(
            f"{self.url('intake')}/api/v1/auth/setup",
            json={"login": officer["login"], "code": officer["code"], "password": PASSWORD},
            timeout=10,
        )
        assert r.status_code == 204, r.text
        return officer

    # --- partner staff and the coordinator (test_partner.py, test_coordinator.py) ---------

    def ready_person(
        self, role: str, *, name: str, partner_slug: str | None = None
    ) -> dict[str, Any]:
        """Partner staff (bound to `partner_slug`) or the coordinator, made through intake's
        admin API, with their password set through its API."""
        body: dict[str, Any] = {
            "name": name,
            "role": role,
            "login": f"{role}-{uuid.uuid4().hex[:8]}",
        }
        if partner_slug:
            body["partner_slug"] = partner_slug
        r = httpx.post(
            f"{self.url('intake')}/api/v1/users",
            json=body,
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        person = {"login": r.json()["login"], "code": r.json()["setup_code"]}
        r = httpx.post(
            f"{self.url('intake')}/api/v1/auth/setup",
            json={"login": person["login"], "code": person["code"], "password": PASSWORD},
            timeout=10,
        )
        assert r.status_code == 204, r.text
        return person

    def referrals_of(self, slug: str) -> list[dict[str, Any]]:
        """A partner's referrals, through referral's admin API."""
        r = httpx.get(
            f"{self.url('referral')}/api/v1/partners/{slug}/referrals",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()
        return rows

    def token(self, login: str) -> str:
        r = httpx.post(
            f"{self.url('intake')}/api/v1/auth/sign-in",
            json={"login": login, "password": PASSWORD},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def cases_of(self, login: str) -> list[dict[str, Any]]:
        """Every case the officer's kelurahan has, through intake's API."""
        r = httpx.get(
            f"{self.url('intake')}/api/v1/cases",
            params={"per_page": 100},
            headers={"Authorization": f"Bearer {self.token(login)}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web-stack")
    nats = NatsServer(store_dir=tmp / "jetstream", log_file=tmp / "nats.log").start()
    s = Stack(tmp, nats)
    try:
        for name in (*SERVICES, "web"):
            s.start(name)
        for name in (*SERVICES, "web"):
            wait_status(s.ports[name], 200, timeout=60)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Debian's chromium: Playwright's own browser downloads are not used. A missing browser
    # fails the test run, it never skips it.
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = _launch(playwright, chromium)
        try:
            yield browser
        finally:
            browser.close()


def _launch(playwright: Playwright, chromium: str) -> Browser:
    return playwright.chromium.launch(executable_path=chromium, headless=True)


class Phone:
    """A page on a 360×780 phone that records console errors and every document's headers,
    and checks after each page that nothing scrolls sideways."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.context = context
        self.base = base
        self.page: Page = context.new_page()
        self.console_errors: list[str] = []
        self.documents: list[tuple[str, dict[str, str]]] = []
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on(
            "response",
            lambda r: self.documents.append((r.url, r.headers))
            if r.request.resource_type == "document"
            else None,
        )

    def goto(self, path: str) -> Page:
        self.page.goto(self.base + path)
        self.fits()
        return self.page

    def fits(self) -> None:
        """No sideways scrolling on a 360 px wide screen."""
        self.page.wait_for_load_state()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"], f"{self.page.url} is {width} px wide"

    def shot(self, name: str, *, full_page: bool = True) -> None:
        """The whole page, or (full_page=False) one phone screen of it as it is scrolled."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def new_context(browser: Browser) -> BrowserContext:
    """A phone's browser of its own (cookies, session): one per person in a test."""
    return browser.new_context(
        viewport=VIEWPORT,
        locale="id-ID",
        timezone_id="Asia/Makassar",
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
    )


def _phone(browser: Browser, stack: Stack) -> Iterator[Phone]:
    context = new_context(browser)
    try:
        yield Phone(context, stack.url("web"))
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser, stack: Stack) -> Iterator[Phone]:
    yield from _phone(browser, stack)


@pytest.fixture
def second_phone(browser: Browser, stack: Stack) -> Iterator[Phone]:
    """Another person's phone, with its own browser (cookies, session) beside `phone`."""
    yield from _phone(browser, stack)


def wait_until(predicate: Any, timeout: float = 30.0, every: float = 0.5) -> Any:
    """`until`, polled every half second: a page or an API call, not a local read."""
    return until(predicate, timeout, every)
