"""`jejaring user …` against a running intake (a real process, over its admin HTTP API): the
token it prints works on intake's API, and each failure is one line saying what to fix."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.shared.secrets import new_secret
from jejaring.testing import service_process

JEJARING = str(Path(sys.executable).parent / "jejaring")
DATA_DIRS: dict[str, Path] = {}  # a running intake's address -> its data folder
ADMIN_TOKEN = new_secret()
IDENTITY_KEY = "identity-key-for-tests-0123456789abcdef"


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """intake's address: `python -m jejaring.intake` with its own SQLite and a nats-server."""
    folder = tmp_path_factory.mktemp("intake")
    nats = NatsServer(store_dir=folder / "js", log_file=folder / "nats.log").start()
    env = {
        "INTAKE_DATA_DIR": str(folder / "data"),
        "INTAKE_PORT": str(free_port()),
        "INTAKE_NATS_URL": nats.url,
        "INTAKE_ADMIN_TOKEN": ADMIN_TOKEN,
        "JEJARING_IDENTITY_KEY": IDENTITY_KEY,
    }
    try:
        with service_process("intake", env) as url:
            DATA_DIRS[url] = folder / "data"
            yield url
    finally:
        nats.stop()


def run(
    url: str,
    *args: str,
    command: str = "add",
    token: str | None = ADMIN_TOKEN,
    group: str = "user",
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEJARING_", "INTAKE_"))}
    env |= {"JEJARING_INTAKE_URL": url, "JEJARING_DATA_DIR": "/nonexistent"}
    if token is not None:
        env["INTAKE_ADMIN_TOKEN"] = token
    return subprocess.run(
        [JEJARING, group, command, *args], env=env, capture_output=True, text=True, timeout=60
    )


def status(url: str, token: str) -> int:
    answer = httpx.get(
        f"{url}/api/v1/cases", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return answer.status_code


OFFICER = ("--name", "Ibu Wulan", "--role", "officer", "--kelurahan", "64.71.04.1003")


def test_user_add_prints_a_token_that_the_running_intake_accepts(intake: str) -> None:
    result = run(intake, *OFFICER)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert status(intake, token) == 200


def test_user_add_refuses_an_officer_without_kelurahan_in_one_line(intake: str) -> None:
    result = run(intake, "--name", "X", "--role", "officer")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jejaring user add: kelurahan_code: An officer must be bound to one kelurahan."
    )


def test_user_add_prints_a_setup_code_the_person_signs_in_with(intake: str) -> None:
    result = run(
        intake,
        *("--name", "Paralegal Aisyiyah", "--role", "partner_staff"),
        *("--partner", "posbakum-aisyiyah", "--login", "Paralegal.Aisyiyah"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("Login paralegal.aisyiyah. One-time setup code")
    assert "WITA" in lines[1]
    code = lines[2]
    password = "kata-sandi-paralegal"
    setup = {"login": "paralegal.aisyiyah", "code": code, "password": password}
    assert httpx.post(f"{intake}/api/v1/auth/setup", json=setup, timeout=10).status_code == 204
    signed = httpx.post(
        f"{intake}/api/v1/auth/sign-in",
        json={"login": "paralegal.aisyiyah", "password": password},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["person"]["partner_slug"] == "posbakum-aisyiyah"


def test_user_token_replaces_the_api_token_and_revoke_token_ends_it(intake: str) -> None:
    added = run(intake, *OFFICER)
    assert added.returncode == 0, added.stderr
    user_id = added.stdout.split()[1]
    old = added.stdout.strip().splitlines()[-1]

    issued = run(intake, user_id, command="token")
    assert issued.returncode == 0, issued.stderr
    head, new = issued.stdout.strip().splitlines()
    assert head.startswith(f"API token of {user_id}, valid until ") and "WITA" in head
    assert (status(intake, old), status(intake, new)) == (401, 200)

    revoked = run(intake, user_id, command="revoke-token")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"API token of {user_id} revoked."
    assert status(intake, new) == 401

    unknown = run(intake, "00000000-0000-0000-0000-000000000009", command="token")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "jejaring user token: id: User not found."


def test_a_wrong_admin_token_is_named_in_one_line_and_creates_nobody(intake: str) -> None:
    wrong = ("--name", "Petugas Token Salah", *OFFICER[2:])
    result = run(intake, *wrong, token=new_secret())
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "jejaring user add: intake refused the admin token (401): INTAKE_ADMIN_TOKEN must be "
        "the value intake runs with (.env on a compose host)"
    )
    listed = httpx.get(
        f"{intake}/api/v1/users", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
    )
    assert listed.status_code == 200
    assert "Petugas Token Salah" not in listed.text


def test_without_an_admin_token_or_a_running_intake_the_command_says_what_to_do() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    missing = run(nobody, *OFFICER, token=None)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("jejaring user add: set INTAKE_ADMIN_TOKEN ")
    unreachable = run(nobody, *OFFICER)
    assert unreachable.returncode == 1
    assert unreachable.stderr.strip() == (
        f"jejaring user add: intake is not reachable at {nobody}; is it running (`jejaring "
        "up`, or `docker compose up`)? Elsewhere: set JEJARING_INTAKE_URL"
    )


def test_the_trail_records_the_client_address_the_proxy_gives(intake: str) -> None:
    """Behind the proxy (127.0.0.1, INTAKE_FORWARDED_ALLOW_IPS' default) the client's address
    comes from X-Forwarded-For, as uvicorn resolves it; the record holds that address."""
    listed = httpx.get(
        f"{intake}/api/v1/users",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Forwarded-For": "203.0.113.7"},
        timeout=10,
    )
    assert listed.status_code == 200
    with contextlib.closing(sqlite3.connect(DATA_DIRS[intake] / "intake.db")) as conn:
        last = conn.execute("SELECT action, client FROM audit_record ORDER BY seq DESC").fetchone()
    assert last == ("user.list", "203.0.113.7")
