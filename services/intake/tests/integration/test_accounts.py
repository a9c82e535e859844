"""People's accounts in intake: a setup code, a password, signing in, sessions, and a person's
access token acting like the API token of the same user (SQLite and PostgreSQL, real NATS)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from jejaring.intake.accounts import DUMMY_HASH, Passwords, normalize_login
from jejaring.intake.app import MIGRATIONS, create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import db
from jejaring.shared.db import UtcDateTime
from jejaring.shared.migrate import alembic_config
from jejaring.shared.web.identity import Person, PersonRole, issue
from jejaring.shared.web.tokens import token_hash
from jejaring.testing import ShiftedClock

ADMIN = "admin-token-for-tests-0123456789"
KEY = "identity-key-for-tests-0123456789abcdef"
KARANG_REJO = "64.71.04.1003"
MEKAR_SARI = "64.71.04.1005"
WITA = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA)
PASSWORD = "kopi-pagi-karang-rejo"

CASE: dict[str, Any] = {
    "kelurahan_code": KARANG_REJO,
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical"],
    "risk_level": "medium",
    "reporter": {"kind": "neighbour"},
    "victims": [{"name": "Siti Rahmawati", "sex": "female", "age": 34}],
    "needs": ["counselling"],
    "consent": {"given_by": "victim", "scope": ["counselling"]},
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Intake:
    def __init__(self, client: TestClient, clock: ShiftedClock) -> None:
        self.client = client
        self.clock = clock

    def move(self, **delta: float) -> None:
        """Time goes on by `delta` (on top of the real time that passes)."""
        self.clock.set(self.clock() + dt.timedelta(**delta))

    def user(self, name: str, role: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "role": role, **fields}
        r = self.client.post("/api/v1/users", json=body, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def setup(self, login: str, code: str, password: str = PASSWORD) -> Any:
        return self.client.post(
            "/api/v1/auth/setup", json={"login": login, "code": code, "password": password}
        )

    def sign_in(self, login: str, password: str = PASSWORD) -> Any:
        return self.client.post("/api/v1/auth/sign-in", json={"login": login, "password": password})

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})

    def person(self, name: str, role: str, login: str, **fields: Any) -> dict[str, Any]:
        """A user who has set a password and signed in: the sign-in answer."""
        created = self.user(name, role, login=login, **fields)
        assert self.setup(login, created["setup_code"]).status_code == 204
        signed = self.sign_in(login)
        assert signed.status_code == 200, signed.text
        return {**dict(signed.json()), "user": created}


def make_intake(
    database_url: str, nats_url: str, tmp_path: Path, **settings: Any
) -> Iterator[Intake]:
    clock = ShiftedClock(START)
    config = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        **settings,
    )
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        yield Intake(client, clock)


@pytest.fixture
def intake(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Intake]:
    yield from make_intake(database_url, nats_url, tmp_path, identity_key=KEY)


def about(iso: str, expected: dt.datetime) -> bool:
    """A time the API gave (in WITA), give or take the seconds the test took."""
    when = dt.datetime.fromisoformat(iso)
    return when.utcoffset() == dt.timedelta(hours=8) and abs(when - expected) < dt.timedelta(
        seconds=30
    )


def refused_alike(response: Any) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    (error,) = response.json()["detail"]
    assert error["code"] == "sign_in_refused"
    assert error["message"]
    assert error["message_en"]
    return dict(error)


# --- setting a password and signing in ---------------------------------------------------------


def test_an_officer_sets_a_password_with_the_code_and_signs_in(intake: Intake) -> None:
    created = intake.user(
        "Ibu Wulan", "officer", kelurahan_code=KARANG_REJO, phone="+62 813-0000-0001"
    )
    assert created["login"] == "081300000001", "the phone number, as its national digits"
    assert created["token"], "the API token is still given"
    code = created["setup_code"]
    assert len(code) == 14
    assert about(created["setup_expires_at"], START + dt.timedelta(hours=24))

    refused_alike(intake.setup("081300000001", "AAAA-BBBB-CCCC"))
    short = intake.setup("081300000001", code, password="pendek")
    assert (short.status_code, short.json()["detail"][0]["field"]) == (422, "password")
    same = intake.setup("081300000001", code, password="0813 0000 0001")
    assert same.json()["detail"][0]["code"] == "password_is_login"
    assert "0813" not in same.text, "a refusal never echoes the password"

    # The code is read as typed on a phone: lower case, without dashes.
    assert intake.setup("+62 813 0000 0001", code.lower().replace("-", "")).status_code == 204
    refused_alike(intake.setup("081300000001", code))  # used up

    signed = intake.sign_in("0813-0000-0001")
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "session_expires_at",
        "person",
    }
    assert body["expires_in"] == 50
    assert body["person"] == {
        "id": created["id"],
        "name": "Ibu Wulan",
        "role": "officer",
        "kelurahan_code": KARANG_REJO,
        "partner_slug": None,
    }
    assert body["access_token"].count(".") == 2
    assert about(body["session_expires_at"], START + dt.timedelta(hours=12))


def test_a_person_token_acts_as_its_user_and_sees_only_their_kelurahan(intake: Intake) -> None:
    wulan = intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    budi = intake.person("Pak Budi", "officer", "budi", kelurahan_code=MEKAR_SARI)
    kasi = intake.person("Kasi Kesos", "coordinator", "kasi.kesos")
    mine = intake.client.post("/api/v1/cases", json=CASE, headers=bearer(wulan["access_token"]))
    assert mine.status_code == 201, mine.text
    case_url = f"/api/v1/cases/{mine.json()['id']}"

    assert intake.client.get(case_url, headers=bearer(wulan["access_token"])).status_code == 200
    assert intake.client.get(case_url, headers=bearer(budi["access_token"])).status_code == 404
    assert intake.client.get(case_url, headers=bearer(kasi["access_token"])).status_code == 200
    listed = intake.client.get("/api/v1/cases", headers=bearer(budi["access_token"])).json()
    assert listed["total"] == 0
    elsewhere = intake.client.post(
        "/api/v1/cases", json={**CASE}, headers=bearer(budi["access_token"])
    )
    assert elsewhere.status_code == 403
    # The API token of the same user still works, and sees the same.
    api = intake.client.get(case_url, headers=bearer(wulan["user"]["token"]))
    assert api.status_code == 200

    admin = intake.person("Admin Kecamatan", "admin", "admin.kec")
    assert intake.client.get(case_url, headers=bearer(admin["access_token"])).status_code == 403
    users = intake.client.get("/api/v1/users", headers=bearer(admin["access_token"]))
    assert users.status_code == 200
    assert {u["login"] for u in users.json()} == {"wulan", "budi", "kasi.kesos", "admin.kec"}
    assert all("setup_code" not in u and "token" not in u for u in users.json())
    assert (
        intake.client.get("/api/v1/users", headers=bearer(wulan["access_token"])).status_code == 403
    )


def test_partner_staff_are_bound_to_a_partner_and_have_no_cases(intake: Intake) -> None:
    def refused(**fields: Any) -> dict[str, Any]:
        r = intake.client.post("/api/v1/users", json={"name": "X", **fields}, headers=bearer(ADMIN))
        assert r.status_code == 422, r.text
        return dict(r.json()["detail"][0])

    assert refused(role="partner_staff")["code"] == "partner_staff_needs_partner"
    for slug in ("Posbakum", "p", "posbakum-", "-posbakum", "a" * 40):
        assert refused(role="partner_staff", partner_slug=slug)["field"] == "partner_slug", slug
    assert refused(role="coordinator", partner_slug="posbakum-aisyiyah")["code"] == (
        "only_partner_staff_have_partner"
    )
    assert refused(role="partner_staff", partner_slug="posbakum-aisyiyah", login="a b")["code"] == (
        "login_format"
    )

    staff = intake.person(
        "Paralegal Aisyiyah", "partner_staff", "paralegal", partner_slug="posbakum-aisyiyah"
    )
    assert staff["person"]["role"] == "partner_staff"
    assert staff["person"]["partner_slug"] == "posbakum-aisyiyah"
    for token in (staff["access_token"], staff["user"]["token"]):
        r = intake.client.get("/api/v1/cases", headers=bearer(token))
        assert r.status_code == 403, r.text
        assert r.json()["detail"][0]["code"] == "forbidden"


def test_logins_are_unique_whatever_their_case(intake: Intake) -> None:
    intake.person("Ibu Wulan", "officer", "Wulan.KR", kelurahan_code=KARANG_REJO)
    assert intake.sign_in("WULAN.kr").status_code == 200
    taken = intake.client.post(
        "/api/v1/users",
        json={"name": "Other", "role": "coordinator", "login": "wulan.kr"},
        headers=bearer(ADMIN),
    )
    assert (taken.status_code, taken.json()["detail"][0]["code"]) == (409, "login_taken")

    # People share phones: the second user of a phone gets no login until the admin gives one.
    first = intake.user("A", "coordinator", phone="081300000009")
    second = intake.user("B", "coordinator", phone="0813 0000 0009")
    assert (first["login"], second["login"], second["setup_code"]) == ("081300000009", None, None)
    no_login = intake.client.post(f"/api/v1/users/{second['id']}/setup-code", headers=bearer(ADMIN))
    assert no_login.json()["detail"][0]["code"] == "login_required"
    given = intake.client.post(
        f"/api/v1/users/{second['id']}/setup-code", json={"login": "bu.b"}, headers=bearer(ADMIN)
    )
    assert given.status_code == 200, given.text
    assert given.json()["login"] == "bu.b"
    assert intake.setup("bu.b", given.json()["setup_code"]).status_code == 204
    assert intake.sign_in("bu.b").status_code == 200


def test_an_unknown_login_and_a_wrong_password_answer_the_same(intake: Intake) -> None:
    intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    wrong = intake.sign_in("wulan", "not-the-password")
    unknown = intake.sign_in("nobody-here", "not-the-password")
    assert refused_alike(wrong) == refused_alike(unknown)
    assert wrong.content == unknown.content
    assert {k: v for k, v in wrong.headers.items() if k != "date"} == {
        k: v for k, v in unknown.headers.items() if k != "date"
    }

    def took(login: str) -> float:
        start = time.perf_counter()
        intake.sign_in(login, "not-the-password")
        return time.perf_counter() - start

    # An unknown login is checked against a dummy hash: the same argon2 work. (Without it, it
    # would answer in a few milliseconds, against about a hundred for a wrong password.)
    # Taken in turns, and the fastest of each: a busy machine only ever adds time (the two
    # test workers of `make test` share two cores), the hashing's cost is the floor.
    pairs = [(took("nobody-here"), took("wulan")) for _ in range(3)]  # four failures: no lock
    unknown_s, wrong_s = min(u for u, _ in pairs), min(w for _, w in pairs)
    assert unknown_s > 0.5 * wrong_s, (unknown_s, wrong_s)


def test_five_failures_lock_the_account_for_fifteen_minutes(intake: Intake) -> None:
    intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    for _ in range(4):
        refused_alike(intake.sign_in("wulan", "tebakan-salah"))
    assert intake.sign_in("wulan").status_code == 200, "a success starts the count again"
    for _ in range(5):
        refused_alike(intake.sign_in("wulan", "tebakan-salah"))
    locked = intake.sign_in("wulan")
    assert refused_alike(locked) == refused_alike(intake.sign_in("nobody", "tebakan-salah"))
    intake.move(minutes=14)
    refused_alike(intake.sign_in("wulan"))
    intake.move(minutes=1, seconds=1)
    assert intake.sign_in("wulan").status_code == 200


def test_a_setup_code_lasts_24_hours_and_the_admin_can_give_a_new_one(intake: Intake) -> None:
    created = intake.user("Ibu Wulan", "officer", kelurahan_code=KARANG_REJO, login="wulan")
    intake.move(hours=24, seconds=1)
    refused_alike(intake.setup("wulan", created["setup_code"]))
    again = intake.client.post(f"/api/v1/users/{created['id']}/setup-code", headers=bearer(ADMIN))
    assert again.status_code == 200, again.text
    assert set(again.json()) == {"id", "login", "setup_code", "setup_expires_at"}
    assert intake.setup("wulan", again.json()["setup_code"]).status_code == 204
    signed = intake.sign_in("wulan")
    assert signed.status_code == 200

    # A forgotten password: a new code, a new password; the old password and sessions end.
    forgot = intake.client.post(f"/api/v1/users/{created['id']}/setup-code", headers=bearer(ADMIN))
    assert (
        intake.setup("wulan", forgot.json()["setup_code"], "kata-sandi-baru-1").status_code == 204
    )
    refused_alike(intake.sign_in("wulan"))
    assert intake.sign_in("wulan", "kata-sandi-baru-1").status_code == 200
    assert intake.refresh(signed.json()["refresh_token"]).status_code == 401
    assert (
        intake.client.post(
            "/api/v1/users/00000000-0000-0000-0000-000000000042/setup-code", headers=bearer(ADMIN)
        ).status_code
        == 404
    )


# --- sessions --------------------------------------------------------------------------------


def test_refresh_rotates_and_a_session_ends_when_idle_or_old(intake: Intake) -> None:
    signed = intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    first = signed["refresh_token"]
    renewed = intake.refresh(first)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["person"] == signed["person"]
    assert renewed.json()["refresh_token"] != first
    ended = intake.refresh(first)
    assert (ended.status_code, ended.json()["detail"][0]["code"]) == (401, "session_ended")

    # Idle: 29 minutes is fine, 31 is not.
    token = renewed.json()["refresh_token"]
    intake.move(minutes=29)
    token = intake.refresh(token).json()["refresh_token"]
    intake.move(minutes=31)
    assert intake.refresh(token).status_code == 401

    # Used every 25 minutes, a session still ends 12 hours after sign-in.
    token = intake.sign_in("wulan").json()["refresh_token"]
    for _ in range(28):  # 11 h 40 min
        intake.move(minutes=25)
        answer = intake.refresh(token)
        assert answer.status_code == 200, answer.text
        token = answer.json()["refresh_token"]
    intake.move(minutes=20, seconds=1)
    assert intake.refresh(token).status_code == 401


def test_sign_out_and_deactivation_end_sessions(intake: Intake) -> None:
    signed = intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    out = intake.client.post(
        "/api/v1/auth/sign-out", json={"refresh_token": signed["refresh_token"]}
    )
    assert out.status_code == 204
    assert intake.refresh(signed["refresh_token"]).status_code == 401
    unknown = intake.client.post("/api/v1/auth/sign-out", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 204

    again = intake.sign_in("wulan").json()
    user_id = signed["user"]["id"]
    officer = bearer(signed["user"]["token"])
    assert intake.client.post(
        f"/api/v1/users/{user_id}/deactivate", headers=officer
    ).status_code == (403)
    off = intake.client.post(f"/api/v1/users/{user_id}/deactivate", headers=bearer(ADMIN))
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert intake.refresh(again["refresh_token"]).status_code == 401
    refused_alike(intake.sign_in("wulan"))
    # Intake reads the user on every request: the access token and API token stop at once.
    assert intake.client.get(
        "/api/v1/cases", headers=bearer(again["access_token"])
    ).status_code == (401)
    assert intake.client.get("/api/v1/cases", headers=officer).status_code == 401


def test_an_expired_or_foreign_access_token_is_401(intake: Intake) -> None:
    signed = intake.person("Ibu Wulan", "officer", "wulan", kelurahan_code=KARANG_REJO)
    person = Person(
        id=uuid.UUID(signed["person"]["id"]),
        name="Ibu Wulan",
        role=PersonRole.OFFICER,
        kelurahan_code=KARANG_REJO,
    )
    foreign = issue(person, secret="another-key-0123456789abcdefghijklmn", now=intake.clock())
    assert intake.client.get("/api/v1/cases", headers=bearer(foreign)).status_code == 401
    token = signed["access_token"]
    assert intake.client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
    intake.move(seconds=50)
    expired = intake.client.get("/api/v1/cases", headers=bearer(token))
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_without_a_key_sign_in_is_not_configured(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    for intake in make_intake(database_url, nats_url, tmp_path):
        created = intake.user("Ibu Wulan", "officer", kelurahan_code=KARANG_REJO, login="wulan")
        assert intake.setup("wulan", created["setup_code"]).status_code == 204
        for answer in (intake.sign_in("wulan"), intake.refresh("x" * 43)):
            assert answer.status_code == 503
            (error,) = answer.json()["detail"]
            assert error["code"] == "sign_in_not_configured"
            assert "sign-in is not configured" in error["message_en"]
            assert error["message"] != error["message_en"]
        api = intake.client.get("/api/v1/cases", headers=bearer(created["token"]))
        assert api.status_code == 200, "API tokens do not need the key"


def test_logins_passwords_codes_and_tokens_are_never_logged(
    intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = intake.user("Ibu Wulan", "officer", kelurahan_code=KARANG_REJO, login="wulan.kr")
    intake.setup("wulan.kr", created["setup_code"])
    for _ in range(5):
        intake.sign_in("wulan.kr", "tebakan-salah-sekali")
    intake.move(minutes=16)
    signed = intake.sign_in("wulan.kr").json()
    renewed = intake.refresh(signed["refresh_token"]).json()
    intake.client.get("/api/v1/cases", headers=bearer(renewed["access_token"]))
    secrets = [
        "wulan.kr",
        PASSWORD,
        "tebakan-salah-sekali",
        created["setup_code"],
        created["token"],
        signed["refresh_token"],
        signed["access_token"],
        renewed["refresh_token"],
    ]
    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith("jejaring")
    )
    assert "account locked" in logged
    assert [s for s in secrets if s in logged] == []


def test_the_dummy_hash_costs_what_a_real_one_does() -> None:
    assert not Passwords().needs_rehash(DUMMY_HASH)


def test_logins_are_normalised() -> None:
    assert normalize_login(" Wulan.KR ") == "wulan.kr"
    assert normalize_login("+62 813-0000-0001") == "081300000001"
    assert normalize_login("(0813) 0000 0001") == "081300000001"
    assert normalize_login("+1 555 0100 200") == "+15550100200"


def test_an_api_token_expires_after_its_lifetime_and_says_so(intake: Intake) -> None:
    created = intake.user("Ibu Wulan", "officer", kelurahan_code=KARANG_REJO)
    until = dt.datetime.fromisoformat(created["token_expires_at"])
    assert abs(until - (START + dt.timedelta(days=90))) < dt.timedelta(seconds=30)
    token = bearer(created["token"])
    intake.move(days=89, hours=23)
    assert intake.client.get("/api/v1/cases", headers=token).status_code == 200
    intake.move(hours=1, seconds=1)
    expired = intake.client.get("/api/v1/cases", headers=token)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"
    (error,) = expired.json()["detail"]
    assert (error["field"], error["code"]) == ("authorization", "token_expired")
    assert "kedaluwarsa" in error["message"] and "has expired" in error["message_en"]
    assert created["token"] not in expired.text

    # The admin issues a new one: it works for another 90 days.
    issued = intake.client.post(f"/api/v1/users/{created['id']}/token", headers=bearer(ADMIN))
    assert issued.status_code == 200, issued.text
    assert about(issued.json()["token_expires_at"], intake.clock() + dt.timedelta(days=90))
    assert intake.client.get(
        "/api/v1/cases", headers=bearer(issued.json()["token"])
    ).status_code == (200)


def test_the_admin_rotates_and_revokes_a_users_api_token(intake: Intake) -> None:
    created = intake.user("Ibu Wulan", "officer", kelurahan_code=KARANG_REJO)
    old = bearer(created["token"])
    url = f"/api/v1/users/{created['id']}/token"
    new = bearer(intake.client.post(url, headers=bearer(ADMIN)).json()["token"])
    assert intake.client.get("/api/v1/cases", headers=old).status_code == 401, "the old one stops"
    assert intake.client.get("/api/v1/cases", headers=new).status_code == 200
    # Only the admin.
    assert intake.client.post(url, headers=new).status_code == 403
    assert intake.client.post(url + "/revoke", headers=new).status_code == 403
    revoked = intake.client.post(url + "/revoke", headers=bearer(ADMIN))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is True, "revoking the token is not deactivating the person"
    assert intake.client.get("/api/v1/cases", headers=new).status_code == 401
    listed = intake.client.get("/api/v1/users", headers=bearer(ADMIN)).json()
    assert all("token" not in u for u in listed)
    unknown = intake.client.post(f"/api/v1/users/{uuid.uuid4()}/token", headers=bearer(ADMIN))
    assert unknown.status_code == 404
    off = intake.client.post(f"/api/v1/users/{created['id']}/deactivate", headers=bearer(ADMIN))
    assert off.status_code == 200
    refused = intake.client.post(url, headers=bearer(ADMIN))
    assert refused.status_code == 409, "no token for a deactivated user"


def test_a_name_with_a_control_character_is_422_and_nothing_is_stored(intake: Intake) -> None:
    """A person's name travels in events and alerts (the officer's contact, who answered):
    a line break, a tab or a NUL is refused, naming the field."""
    for body, field in (
        ({"name": "Ibu\nWulan", "role": "coordinator"}, "name"),
        ({"name": "Ibu\tWulan", "role": "coordinator"}, "name"),
        ({"name": "Ibu Wulan", "role": "coordinator", "email": "wulan@x.id\x00"}, "email"),
    ):
        refused = intake.client.post("/api/v1/users", json=body, headers=bearer(ADMIN))
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert error["field"] == field
        assert error["code"] in {"control_character", "string_pattern_mismatch"}
    assert intake.client.get("/api/v1/users", headers=bearer(ADMIN)).json() == []


def test_a_token_issued_before_expiry_existed_works_for_90_days_from_the_upgrade(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """Migration intake_0006 on a database holding a user: the user's token keeps working, for
    90 days from the upgrade, and then says it has expired."""
    token = "a-token-issued-before-intake-0006-0123456789"

    async def before_0006() -> None:
        engine = db.create_engine(database_url)
        cfg = alembic_config(MIGRATIONS)

        def upgrade(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "intake_0005")
            command.upgrade(cfg, "plumbing@head")

        old_user = sa.table(
            "app_user",
            *(sa.column(c, t) for c, t in (("id", sa.Uuid()), ("created_at", UtcDateTime()))),
            *(sa.column(c) for c in ("name", "role", "token_hash", "active", "failed_sign_ins")),
        )
        try:
            async with engine.begin() as conn:
                await conn.run_sync(upgrade)
                await conn.execute(
                    old_user.insert().values(
                        id=uuid.uuid4(),
                        name="Kasi Kesos",
                        role="coordinator",
                        token_hash=token_hash(token),
                        active=True,
                        failed_sign_ins=0,
                        created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(before_0006())
    for intake in make_intake(database_url, nats_url, tmp_path):  # upgrades to the head
        assert intake.client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
        (user,) = intake.client.get("/api/v1/users", headers=bearer(ADMIN)).json()
        until = dt.datetime.fromisoformat(user["token_expires_at"])
        upgraded = dt.datetime.now(dt.UTC)
        assert abs(until - (upgraded + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
        intake.clock.set(until + dt.timedelta(seconds=1))
        expired = intake.client.get("/api/v1/cases", headers=bearer(token))
        assert expired.json()["detail"][0]["code"] == "token_expired"
