"""`jejaring user add` creates a user whose token works against intake's API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings

JEJARING = str(Path(sys.executable).parent / "jejaring")


def run(tmp_path: Path, *args: str, command: str = "add") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JEJARING_DATA_DIR": str(tmp_path / "data")}
    env.pop("INTAKE_DATA_DIR", None)
    return subprocess.run(
        [JEJARING, "user", command, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_user_add_prints_a_token_that_intake_accepts(tmp_path: Path) -> None:
    result = run(
        tmp_path, "--name", "Ibu Wulan", "--role", "officer", "--kelurahan", "64.71.04.1003"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    settings = IntakeSettings(data_dir=tmp_path / "data", nats_url="nats://127.0.0.1:1")
    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert listed.json()["total"] == 0


def test_user_add_refuses_an_officer_without_kelurahan_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "--name", "X", "--role", "officer")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jejaring user add: kelurahan_code: An officer must be bound to one kelurahan."
    )


def test_user_add_prints_a_setup_code_the_person_signs_in_with(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        *("--name", "Paralegal Aisyiyah", "--role", "partner_staff"),
        *("--partner", "posbakum-aisyiyah", "--login", "Paralegal.Aisyiyah"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("Login paralegal.aisyiyah. One-time setup code")
    assert "WITA" in lines[1]
    code = lines[2]
    settings = IntakeSettings(
        data_dir=tmp_path / "data",
        nats_url="nats://127.0.0.1:1",
        identity_key="identity-key-for-tests-0123456789abcdef",
    )
    password = "kata-sandi-paralegal"
    with TestClient(create_app(settings)) as client:
        setup = {"login": "paralegal.aisyiyah", "code": code, "password": password}
        assert client.post("/api/v1/auth/setup", json=setup).status_code == 204
        signed = client.post(
            "/api/v1/auth/sign-in", json={"login": "paralegal.aisyiyah", "password": password}
        )
    assert signed.status_code == 200, signed.text
    assert signed.json()["person"]["partner_slug"] == "posbakum-aisyiyah"


def test_user_token_replaces_the_api_token_and_revoke_token_ends_it(tmp_path: Path) -> None:
    added = run(
        tmp_path, "--name", "Ibu Wulan", "--role", "officer", "--kelurahan", "64.71.04.1003"
    )
    assert added.returncode == 0, added.stderr
    user_id = added.stdout.split()[1]
    old = added.stdout.strip().splitlines()[-1]

    issued = run(tmp_path, user_id, command="token")
    assert issued.returncode == 0, issued.stderr
    head, new = issued.stdout.strip().splitlines()
    assert head.startswith(f"API token of {user_id}, valid until ") and "WITA" in head
    settings = IntakeSettings(data_dir=tmp_path / "data", nats_url="nats://127.0.0.1:1")

    def status(token: str) -> int:
        with TestClient(create_app(settings)) as client:
            answer = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    assert (status(old), status(new)) == (401, 200)
    revoked = run(tmp_path, user_id, command="revoke-token")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"API token of {user_id} revoked."
    assert status(new) == 401

    unknown = run(tmp_path, "00000000-0000-0000-0000-000000000009", command="token")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "jejaring user token: id: User not found."
