"""The admin's pages against the real services: the admin's start page, headers on every admin
page, a message's text never on the delivery log, a service's refusal beside its field, CSRF on
every admin POST, no admin page for an officer, and no deactivating oneself.

nats-server and intake, referral and notify run as processes (`python -m jejaring.<service>`,
each on its own SQLite file and data directory), one set per module; notify sends with its
embedded file channel, so the texts it sent are read from its outbox. The admin is made through
intake's admin API with the bootstrap admin token and sets a password with the one-time code;
every person of a test is new (their own login). The web app runs in process under TestClient on
a `ShiftedClock` and calls the three services over real HTTP; what it sent is read off the
note-taking wrapper around httpx's real transport (`Wire`, from test_security.py), and whether
a service was changed is asked of that service's own API.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import (
    THREE_WAY_CASE,
    VICTIM_NAME,
    ShiftedClock,
    identity_env,
    until,
    wait_status,
)
from jejaring.web.app import create_app
from jejaring.web.settings import WebSettings

from .wire import Wire

ADMIN = "admin-token-for-web-admin-tests-000000"
IDENTITY_KEY = "identity-key-for-web-admin-tests-0123456789abcdef"
SERVICES = ("intake", "referral", "notify")
WITA = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "kata-sandi-yang-panjang"
KARANG_REJO = "64.71.04.1003"
ADMIN_NAME = "Pak Hendra Admin"
# Sentences of notify's own referral_requested templates (templates/id), the same whatever the
# case: none may be on the delivery log.
TEMPLATE_SENTENCES = ("Mohon terima atau tolak sebelum", "Jejaring: rujukan baru", "untuk layanan")


@dataclass
class Services:
    """nats-server and the three services as processes, and the admin's calls to them."""

    tmp: Path
    nats: NatsServer
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        prefix = name.upper() + "_"
        data = self.tmp / name
        env = {
            **os.environ,
            prefix + "PORT": str(self.ports[name]),
            prefix + "DATA_DIR": str(data),
            prefix + "DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp / f'{name}.db'}",
            prefix + "NATS_URL": self.nats.url,
            prefix + "RELAY_POLL_INTERVAL_S": "0.2",
            "NOTIFY_DISPATCH_INTERVAL_S": "0.2",
            prefix + "ADMIN_TOKEN": ADMIN,
            **identity_env(name, IDENTITY_KEY),
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"jejaring.{name}"], env=env, stdout=log, stderr=log
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.nats.stop()

    def admin_api(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """A call with the bootstrap admin token; the answer's JSON (2xx only)."""
        answer = httpx.request(
            method,
            f"{self.url(name)}{path}",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
            **kwargs,
        )
        assert answer.is_success, answer.text
        return answer.json()

    def person(self, role: str, name: str, **extra: str) -> dict[str, Any]:
        """A new person made through intake's admin API, their password set with the one-time
        code: intake's row for them."""
        login = f"{role}-{uuid.uuid4().hex[:8]}"
        made = self.admin_api(
            "intake",
            "POST",
            "/api/v1/users",
            json={"name": name, "role": role, "login": login, **extra},
        )
        setup = httpx.post(
            f"{self.url('intake')}/api/v1/auth/setup",
            json={"login": login, "code": made["setup_code"], "password": PASSWORD},
            timeout=10,
        )
        assert setup.status_code == 204, setup.text
        return self.user(login)

    def users(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.admin_api("intake", "GET", "/api/v1/users")
        return rows

    def user(self, login: str) -> dict[str, Any]:
        (row,) = [u for u in self.users() if u.get("login") == login]
        return row

    def partners(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.admin_api("referral", "GET", "/api/v1/partners")
        return rows

    def deliveries(self, reference: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.admin_api(
            "notify", "GET", "/api/v1/deliveries", params={"case_reference": reference}
        )
        return rows

    def sent_texts(self, reference: str) -> list[dict[str, str]]:
        """The messages notify wrote to its outbox (the file channel) naming the case."""
        outbox = self.tmp / "notify" / "outbox"
        found = []
        for path in sorted(outbox.glob("*.json")) if outbox.is_dir() else []:
            message = json.loads(path.read_text(encoding="utf-8"))
            if reference in message["subject"] + message["text"]:
                found.append(message)
        return found

    def record_case(self, login: str) -> dict[str, Any]:
        """A case of the officer's kelurahan, recorded through intake's API with their token."""
        signed = httpx.post(
            f"{self.url('intake')}/api/v1/auth/sign-in",
            json={"login": login, "password": PASSWORD},
            timeout=10,
        )
        assert signed.status_code == 200, signed.text
        token = signed.json()["access_token"]
        claims = token.split(".")[1]
        kelurahan = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["kel"]
        answer = httpx.post(
            f"{self.url('intake')}/api/v1/cases",
            json={**THREE_WAY_CASE, "kelurahan_code": kelurahan},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        case: dict[str, Any] = answer.json()
        return case


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("admin-services")
    nats = NatsServer(store_dir=tmp / "jetstream", log_file=tmp / "nats.log").start()
    running = Services(tmp, nats)
    try:
        for name in SERVICES:
            running.start(name)
        for name in SERVICES:
            wait_status(running.ports[name], 200, timeout=60)
        yield running
    finally:
        running.stop()


class Web:
    """The web app in process, signed in as `me` (intake's row for them)."""

    def __init__(self, client: TestClient, wire: Wire, me: dict[str, Any]) -> None:
        self.client = client
        self.wire = wire
        self.me = me
        self.start = ""  # where signing in sent them

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self) -> httpx.Response:
        form = {"csrf": self.csrf("/sign-in"), "login": self.me["login"], "password": PASSWORD}
        return self.client.post("/sign-in", data=form, follow_redirects=False)

    def posted(self) -> list[tuple[str, str]]:
        """Every POST the web app sent to a service, but the sign-in's own."""
        return [
            (s.method, s.path)
            for s in self.wire.log
            if s.method == "POST" and "/auth/" not in s.path
        ]


def signed_in(tmp_path: Path, services: Services, me: dict[str, Any]) -> Iterator[Web]:
    wire = Wire()
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))
    app = create_app(
        WebSettings(
            data_dir=tmp_path,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
            intake_url=services.url("intake"),
            referral_url=services.url("referral"),
            notify_url=services.url("notify"),
        ),
        clock=clock,
        transport=wire,
    )
    with TestClient(app) as client:
        web = Web(client, wire, me)
        signed = web.sign_in()
        assert signed.status_code == 303, signed.text
        web.start = signed.headers["location"]
        yield web


@pytest.fixture
def admin(tmp_path: Path, services: Services) -> Iterator[Web]:
    yield from signed_in(tmp_path, services, services.person("admin", ADMIN_NAME))


@pytest.fixture
def officer(tmp_path: Path, services: Services) -> Iterator[Web]:
    me = services.person("officer", "Ibu Wulan", kelurahan_code=KARANG_REJO)
    yield from signed_in(tmp_path, services, me)


def private(page: httpx.Response, path: str) -> None:
    assert page.headers["cache-control"] == "no-store", path
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
    assert "unsafe-inline" not in csp, path
    assert page.headers["x-content-type-options"] == "nosniff", path
    assert page.headers["referrer-policy"] == "no-referrer", path


def test_the_admin_lands_on_the_admin_menu_and_every_admin_page_is_private(
    admin: Web, services: Services
) -> None:
    assert admin.start == "/"
    start = admin.client.get("/", follow_redirects=False)
    assert start.status_code == 303
    assert start.headers["location"] == "/admin"
    other = services.person("officer", "Ibu Ratih", kelurahan_code=KARANG_REJO)
    paths = (
        "/admin",
        "/admin/people",
        "/admin/people/new",
        f"/admin/people/{other['id']}/deactivate",
        "/admin/partners",
        "/admin/partners/new",
        "/admin/partners/polresta-ppa/deactivate",
        "/admin/deliveries",
    )
    for path in paths:
        page = admin.client.get(path)
        assert page.status_code == 200, path
        private(page, path)
    assert "Ibu Ratih" in admin.client.get("/admin/people").text, "intake's list is shown"
    assert "Piket Unit PPA" in admin.client.get("/admin/partners").text, "referral's list"
    # a POST's answer too: a refused new person, rendered again
    form = {
        "csrf": admin.csrf("/admin/people/new"),
        "name": "X",
        "role": "coordinator",
        "phone": "12",
    }
    refused = admin.client.post("/admin/people/new", data=form)
    assert refused.status_code == 200
    private(refused, "POST /admin/people/new")


def test_the_delivery_log_never_shows_a_messages_text(admin: Web, services: Services) -> None:
    officer = services.person("officer", "Ibu Wulan", kelurahan_code=KARANG_REJO)
    case = services.record_case(officer["login"])
    reference = case["reference"]
    # Polresta's contact keeps no quiet hours: its SMS is written at any hour of the day.
    sent = until(lambda: services.sent_texts(reference), timeout=60)
    logged = services.deliveries(reference)
    assert logged, "notify logged the deliveries it sent"

    page = admin.client.get("/admin/deliveries", params={"case_reference": reference})
    assert page.status_code == 200
    text = page.text
    assert reference in text
    assert "Piket Unit PPA" in text
    assert [(s.status, s.path) for s in admin.wire.sent("GET", "/api/v1/deliveries")] == [
        (200, "/api/v1/deliveries")
    ], "the page is notify's answer"
    for message in sent:
        for part in (message["subject"], message["text"]):
            assert part not in text and html.escape(part) not in text, part
    for sentence in TEMPLATE_SENTENCES:
        assert sentence not in text, sentence
    assert VICTIM_NAME not in text


def test_a_refusal_is_shown_beside_its_field_and_what_was_typed_stays(
    admin: Web, services: Services
) -> None:
    login = f"sari-{uuid.uuid4().hex[:6]}"
    form = {"csrf": admin.csrf("/admin/people/new"), "name": "Ibu Sari", "role": "coordinator",
            "kelurahan": KARANG_REJO, "phone": "12", "login": login}  # fmt: skip
    page = admin.client.post("/admin/people/new", data=form)
    assert page.status_code == 200
    assert re.search(r'id="phone-error"[^>]*>.*Nomor telepon hanya angka', page.text, re.S)
    assert 'value="Ibu Sari"' in page.text and 'value="12"' in page.text
    assert f'value="{login}"' in page.text
    (asked,) = admin.wire.sent("POST", "/api/v1/users")
    assert asked.status == 422, "intake refused it"
    assert "kelurahan_code" not in asked.body, "a kelurahan goes with an officer only"
    assert not [u for u in services.users() if u.get("login") == login]

    form = {"csrf": admin.csrf("/admin/partners/new"), "name": "UPTD PPA Kota", "slug": "UPTD PPA",
            "kind": "government", "services": "shelter", "contact-name": "Ibu Ratna",
            "contact-phone": "0542000000", "contact-quiet-start": "21.00"}  # fmt: skip
    page = admin.client.post("/admin/partners/new", data=form)
    assert page.status_code == 200
    assert re.search(r'id="slug-error"[^>]*>.*Kode mitra hanya huruf kecil', page.text, re.S)
    assert re.search(r'id="contact-quiet-start-error"[^>]*>.*jam:menit', page.text, re.S)
    assert 'value="UPTD PPA Kota"' in page.text and 'value="21.00"' in page.text
    assert re.search(r'value="shelter"[^>]*checked', page.text)
    (asked,) = admin.wire.sent("POST", "/api/v1/partners")
    assert asked.status == 422, "referral refused it"
    assert not [p for p in services.partners() if p["name"] == "UPTD PPA Kota"]


def test_every_admin_post_needs_the_csrf_token(admin: Web, services: Services) -> None:
    other = services.person("officer", "Ibu Ratih", kelurahan_code=KARANG_REJO)
    login = f"x-{uuid.uuid4().hex[:6]}"
    person = {"name": "Pak X", "role": "admin", "login": login}
    partner = {
        "name": "Mitra X",
        "slug": f"mitra-{uuid.uuid4().hex[:6]}",
        "kind": "government",
        "services": "counselling",
        "contact-name": "Ibu X",
        "contact-phone": "0542000000",
    }
    posts = {
        "/admin/people/new": person,
        "/admin/partners/new": partner,
        f"/admin/people/{other['id']}/setup-code": {},
        f"/admin/people/{other['id']}/deactivate": {},
        "/admin/partners/polresta-ppa/token": {},
        "/admin/partners/polresta-ppa/deactivate": {},
    }
    for path, data in posts.items():
        for token in (None, "not-the-token"):
            sent = data if token is None else {**data, "csrf": token}
            answer = admin.client.post(path, data=sent, follow_redirects=False)
            assert answer.status_code == 403, (path, token)
    assert admin.posted() == [], "no service was asked to change anything"
    assert not [u for u in services.users() if u.get("login") == login]
    assert services.user(other["login"])["active"] is True
    partners = {p["slug"]: p for p in services.partners()}
    assert partner["slug"] not in partners
    assert partners["polresta-ppa"]["active"] is True

    # With the form's token the same person is made: the refusal above was the token's.
    made = admin.client.post(
        "/admin/people/new", data={**person, "csrf": admin.csrf("/admin/people/new")}
    )
    assert made.status_code == 200
    assert services.user(login)["role"] == "admin"


def test_an_officer_finds_no_admin_page(officer: Web, services: Services) -> None:
    someone = services.person("admin", ADMIN_NAME)
    csrf = officer.csrf("/cases")
    for path in ("/admin", "/admin/people", "/admin/people/new", "/admin/partners",
                 "/admin/partners/new", "/admin/deliveries",
                 f"/admin/people/{someone['id']}/deactivate",
                 "/admin/partners/polresta-ppa/deactivate"):  # fmt: skip
        page = officer.client.get(path)
        assert page.status_code == 404, path
        assert page.headers["cache-control"] == "no-store", path
        assert ADMIN_NAME not in page.text and "Piket Unit PPA" not in page.text, path
    login = f"x-{uuid.uuid4().hex[:6]}"
    made = officer.client.post(
        "/admin/people/new", data={"csrf": csrf, "name": "Pak X", "role": "admin", "login": login}
    )
    assert made.status_code == 404
    gone = officer.client.post(f"/admin/people/{someone['id']}/deactivate", data={"csrf": csrf})
    assert gone.status_code == 404
    asked = {s.path for s in officer.wire.log}
    assert not asked & {"/api/v1/users", "/api/v1/partners", "/api/v1/deliveries"}, asked
    assert officer.posted() == []
    assert not [u for u in services.users() if u.get("login") == login]
    assert services.user(someone["login"])["active"] is True


def test_the_admin_cannot_deactivate_themselves(admin: Web, services: Services) -> None:
    me, other = admin.me, services.person("officer", "Ibu Ratih", kelurahan_code=KARANG_REJO)
    assert admin.client.get(f"/admin/people/{me['id']}/deactivate").status_code == 404
    csrf = admin.csrf("/admin/people")
    refused = admin.client.post(f"/admin/people/{me['id']}/deactivate", data={"csrf": csrf})
    assert refused.status_code == 404
    assert admin.posted() == [], "intake was not asked"
    assert services.user(me["login"])["active"] is True
    people = admin.client.get("/admin/people").text
    assert f"/admin/people/{me['id']}/deactivate" not in people
    assert f"/admin/people/{other['id']}/deactivate" in people, "others can be deactivated"


def test_a_data_protection_officer_starts_on_the_audit_trail_and_opens_no_case(
    tmp_path: Path, services: Services
) -> None:
    """The dpo's start page is the audit trail with the chain's verdict; no case page or board
    opens for her, and a filter that makes no sense is an error on the page, never a 500."""
    me = services.person("dpo", "Ibu Dewi Pelindungan Data")
    for dpo in signed_in(tmp_path, services, me):
        start = dpo.client.get("/", follow_redirects=False)
        assert (start.status_code, start.headers["location"]) == (303, "/audit")
        trail = dpo.client.get("/audit")
        assert trail.status_code == 200
        assert "Rantai utuh:" in trail.text
        assert trail.headers["cache-control"] == "no-store"
        for bad, says in (
            ("?person=nobody", "Orang yang dipilih tidak dikenal."),
            ("?reference=%3Cscript%3E", "Nomor kasus hanya berisi huruf"),
            ("?reference=" + "A" * 40, "Nomor kasus hanya berisi huruf"),
        ):
            answer = dpo.client.get("/audit" + bad)
            assert answer.status_code == 200 and says in answer.text, bad
        assert (
            dpo.client.get("/erase/done?reference=../x", follow_redirects=False).status_code == 303
        )
        for page in ("/board", "/cases"):
            assert dpo.client.get(page, follow_redirects=False).status_code != 200


def test_the_trail_page_says_where_the_chain_breaks(tmp_path: Path, services: Services) -> None:
    """A record changed in intake's database behind its back: the page names that record and
    why, in place of "Rantai utuh" (the record is put back afterwards)."""
    me = services.person("dpo", "Pak Audit")
    database = sqlite3.connect(services.tmp / "intake.db")
    try:
        (client,) = database.execute("SELECT client FROM audit_record WHERE seq = 2").fetchone()
        with database:
            database.execute("UPDATE audit_record SET client = '203.0.113.9' WHERE seq = 2")
        for dpo in signed_in(tmp_path, services, me):
            trail = dpo.client.get("/audit")
            assert trail.status_code == 200
            assert "Rantai utuh" not in trail.text
            assert "Rantai rusak pada catatan #2" in trail.text
            assert "catatan ini diubah" in trail.text
    finally:
        with database:
            database.execute("UPDATE audit_record SET client = ? WHERE seq = 2", (client,))
        database.close()
    listed = [u for u in services.users() if u["id"] == me["id"]]
    assert listed[0]["role"] == "dpo"


def test_a_contact_the_admin_marks_public_goes_to_referral_marked(
    admin: Web, services: Services
) -> None:
    """The partner directory (HSDS) publishes only contacts marked public: the form's box."""
    slugs = [f"mitra-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for slug, public in zip(slugs, (True, False), strict=True):
        form = {"csrf": admin.csrf("/admin/partners/new"), "name": f"Mitra {slug}", "slug": slug,
                "kind": "government", "services": "shelter", "contact-name": "Piket Mitra",
                "contact-phone": "0542000001", **({"contact-public": "yes"} if public else {})}  # fmt: skip
        admin.client.post("/admin/partners/new", data=form)
    assert [a.status for a in admin.wire.sent("POST", "/api/v1/partners")] == [201, 201]
    partners = {p["slug"]: p for p in services.partners()}
    assert [partners[s]["contacts"][0]["public"] for s in slugs] == [True, False]
