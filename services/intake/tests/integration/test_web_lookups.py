"""What the web app's privacy pages ask of intake (issue 16): the data protection officer finds
a case by its reference (no personal data), the coordinator lists the officers a case may be
assigned to, the audit trail newest first with names, and an erased case says why."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto
from jejaring.testing import EXAMPLE_CASE, until

ADMIN = "admin-token-for-tests-0123456789"
NAME = "Zulaikha Purnamasari Wirawangsa"
HERE = EXAMPLE_CASE["kelurahan_code"]
ELSEWHERE = "64.71.04.1005" if HERE != "64.71.04.1005" else "64.71.04.1003"


@pytest.fixture
def client(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=crypto.generate_line("k1"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        until(lambda: c.get("/readyz").status_code == 200)
        yield c


def person(client: TestClient, role: str, name: str, kelurahan: str | None = None) -> Any:
    body: dict[str, Any] = {"name": name, "role": role}
    if role == "officer":
        body["kelurahan_code"] = kelurahan or HERE
    r = client.post("/api/v1/users", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    user = r.json()
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


def record(client: TestClient, officer: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE_CASE)
    body["victims"][0]["name"] = NAME
    r = client.post("/api/v1/cases", json=body, headers=officer["headers"])
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    return case


def test_the_dpo_finds_a_case_by_reference_without_its_personal_data(client: TestClient) -> None:
    officer = person(client, "officer", "Ibu Wulan")
    dpo = person(client, "dpo", "Pak Dimas")
    case = record(client, officer)
    path = f"/api/v1/cases/by-reference/{case['reference']}"

    r = client.get(path, headers=dpo["headers"])
    assert r.status_code == 200, r.text
    found = r.json()
    assert (found["id"], found["status"], found["erased_at"]) == (case["id"], "open", None)
    assert NAME not in r.text
    assert client.get(path, headers=officer["headers"]).status_code == 403
    missing = client.get("/api/v1/cases/by-reference/PPA-0000-00-0000", headers=dpo["headers"])
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["field"] == "id"

    erased = client.post(
        f"/api/v1/cases/{case['id']}/erase", json={"reason": "court_order"}, headers=dpo["headers"]
    )
    assert erased.status_code == 200, erased.text
    found = client.get(path, headers=dpo["headers"]).json()
    assert (found["erased_why"], found["erasure_reason"]) == ("erasure", "court_order")
    # the officer's case page: no name, and why it went
    coordinator = person(client, "coordinator", "Ibu Rina")
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=coordinator["headers"]).json()
    assert shown["erasure_reason"] == "court_order" and shown["victims"][0]["name"] is None
    lines = client.get("/api/v1/cases", headers=officer["headers"]).json()["items"]
    assert [line["erased_at"] is not None for line in lines] == [True]

    # the lookup is in the trail, newest first, with the names of who acted
    trail = client.get(
        "/api/v1/audit",
        params={"case_reference": case["reference"], "newest_first": "true"},
        headers=dpo["headers"],
    ).json()
    actions = [r["action"] for r in trail["items"]]
    assert actions[:3] == ["case.read", "case.lookup", "case.erase"], actions
    assert actions[-1] == "case.create"
    assert trail["items"][1]["user_name"] == "Pak Dimas"
    assert trail["items"][-1]["user_name"] == "Ibu Wulan"


def test_the_coordinator_lists_the_active_officers_of_the_case_kelurahan(
    client: TestClient,
) -> None:
    recorder = person(client, "officer", "Ibu Wulan")
    colleague = person(client, "officer", "Bu Ani")
    gone = person(client, "officer", "Pak Lama")
    person(client, "officer", "Pak Jauh", kelurahan=ELSEWHERE)
    coordinator = person(client, "coordinator", "Ibu Rina")
    r = client.post(
        f"/api/v1/users/{gone['id']}/deactivate", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert r.status_code == 200, r.text
    case = record(client, recorder)
    path = f"/api/v1/cases/{case['id']}/officers"

    r = client.get(path, headers=coordinator["headers"])
    assert r.status_code == 200, r.text
    assert [o["name"] for o in r.json()] == ["Bu Ani", "Ibu Wulan"]
    assert r.json()[0] == {"id": colleague["id"], "name": "Bu Ani"}
    assert client.get(path, headers=recorder["headers"]).status_code == 403
    nowhere = "/api/v1/cases/00000000-0000-0000-0000-00000000abcd/officers"
    assert client.get(nowhere, headers=coordinator["headers"]).status_code == 404
