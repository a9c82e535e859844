"""Credentials that can be taken back, on the real processes: a deactivated officer's access
ends at every service within a minute (measured in real time), each service accepts only
its own admin token, and only intake can sign a person's token."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from tests.system.conftest import ADMIN_TOKENS, IDENTITY_KEY, SERVICES, System

from jejaring.shared.web.identity import public_key_of
from jejaring.testing import start_refused

PASSWORD = "kopi-pagi-karang-rejo"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_each_service_accepts_only_its_own_admin_token(system: System) -> None:
    admin_paths = {
        "intake": "/api/v1/users",
        "referral": "/api/v1/partners",
        "notify": "/api/v1/deliveries",
        "report": "/api/v1/reports/monthly?month=2026-01",
    }
    for service in admin_paths:
        for holder in SERVICES:
            answer = httpx.get(
                system.url(service) + admin_paths[service],
                headers=bearer(ADMIN_TOKENS[holder]),
                timeout=10,
            )
            expected = 200 if holder == service else 401
            assert answer.status_code == expected, (service, holder, answer.text)
    # Referral's admin token cannot make a person at intake (a coordinator, an admin).
    minted = httpx.post(
        system.url("intake") + "/api/v1/users",
        json={"name": "Kasi Kesos", "role": "coordinator"},
        headers=bearer(ADMIN_TOKENS["referral"]),
        timeout=10,
    )
    assert minted.status_code == 401


def test_a_deactivated_officer_is_refused_everywhere_within_a_minute(system: System) -> None:
    intake = httpx.Client(base_url=system.url("intake"), timeout=10)
    admin = bearer(ADMIN_TOKENS["intake"])
    created = intake.post(
        "/api/v1/users",
        json={
            "name": "Ibu Wulan",
            "role": "officer",
            "kelurahan_code": "64.71.04.1003",
            "login": "wulan",
        },
        headers=admin,
    ).json()
    setup = {"login": "wulan", "code": created["setup_code"], "password": PASSWORD}
    assert intake.post("/api/v1/auth/setup", json=setup).status_code == 204
    started = time.monotonic()
    signed = intake.post("/api/v1/auth/sign-in", json={"login": "wulan", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    officer = bearer(signed.json()["access_token"])
    refresh = signed.json()["refresh_token"]

    # What the officer may do while the token lives: 200 at intake and notify, 403 at referral
    # (the partner list is the admin's); 401 once it is refused.
    probes = {
        "intake": (system.url("intake") + "/api/v1/cases", 200),
        "referral": (system.url("referral") + "/api/v1/partners", 403),
        "notify": (system.url("notify") + "/api/v1/deliveries?case_reference=BPT-2026-000001", 200),
    }
    for service, (url, allowed) in probes.items():
        assert httpx.get(url, headers=officer, timeout=10).status_code == allowed, service
    off = intake.post(f"/api/v1/users/{created['id']}/deactivate", headers=admin)
    assert off.status_code == 200
    deactivated = time.monotonic() - started

    refused_at: dict[str, float] = {}
    accepted_after_deactivation: dict[str, bool] = {s: False for s in probes}
    while len(refused_at) < len(probes) and time.monotonic() - started < 75:
        for service, (url, allowed) in probes.items():
            if service in refused_at:
                continue
            status = httpx.get(url, headers=officer, timeout=10).status_code
            if status == 401:
                refused_at[service] = time.monotonic() - started
            else:
                assert status == allowed, (service, status)
                accepted_after_deactivation[service] = True
        time.sleep(0.25)
    print(
        f"\n  deactivated {deactivated:.1f} s after sign-in; refused "
        + ", ".join(f"{s} at {t:.1f} s" for s, t in refused_at.items())
    )
    assert set(refused_at) == set(probes), refused_at
    # refused at the first request after the deactivation (a time bound would fail on a stall)
    assert not accepted_after_deactivation["intake"], "intake reads the user on every request"
    for service in ("referral", "notify"):
        assert refused_at[service] <= 60, (service, refused_at[service])
    # The session is over too: no new access token.
    assert intake.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401


@pytest.mark.parametrize("service", ["referral", "notify", "report"])
def test_production_refuses_to_start_a_verifier_given_the_signing_secret(
    service: str, tmp_path: Path
) -> None:
    """Compose or an operator handing intake's secret to referral or notify would let anyone who
    reads that environment sign a coordinator's token: the process exits 78 (EX_CONFIG) with one
    line naming the variable, before it touches NATS or its database."""
    prefix = service.upper() + "_"
    env = {
        "PATH": os.environ["PATH"],
        prefix + "ENVIRONMENT": "production",
        prefix + "DATA_DIR": str(tmp_path),
        "JEJARING_IDENTITY_KEY": IDENTITY_KEY,
        "JEJARING_IDENTITY_PUBLIC_KEY": public_key_of(IDENTITY_KEY),
    }
    result = start_refused(f"{service}", env)
    assert result.returncode == 78, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"jejaring-{service}: cannot start: JEJARING_IDENTITY_KEY is set, but it holds intake's "
        f"signing secret and must not reach {service}: unset it and give "
        "JEJARING_IDENTITY_PUBLIC_KEY instead (`jejaring identity public-key` prints it; the "
        "web app needs neither)"
    ]
    assert IDENTITY_KEY not in result.stdout + result.stderr
