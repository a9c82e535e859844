"""Need to know and the consent override (issue 16, item 2), through intake's API on a real
nats-server and database: who sees a case in full, what is sensitive, and an override that waits
for a second person before anything reaches the CASES stream."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from jejaring.intake.app import MIGRATIONS, create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import db
from jejaring.shared.contract import envelope
from jejaring.shared.db import UtcDateTime
from jejaring.shared.migrate import alembic_config
from jejaring.testing import CHILD_NAME, EXAMPLE_CASE, until

ADMIN = "admin-token-for-tests-0123456789"
KARANG_REJO = "64.71.04.1003"
MEKAR_SARI = "64.71.04.1005"
OVERRIDE = {
    "given_by": "override",
    "scope": ["police", "legal_aid", "counselling"],
    "override_reason": "guardian_is_alleged_perpetrator",
}
ADULT = {"name": "Siti Rahmawati", "sex": "female", "age": 34}


def case(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE_CASE)
    body.update(changes)
    return body


@pytest.fixture
def client(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = IntakeSettings(
        database_url=database_url, nats_url=nats_url, data_dir=tmp_path, admin_token=ADMIN
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        until(lambda: c.get("/readyz").status_code == 200)
        yield c


def person(client: TestClient, name: str, role: str, kelurahan: str | None = None) -> Any:
    body: dict[str, Any] = {"name": name, "role": role}
    if kelurahan:
        body["kelurahan_code"] = kelurahan
    r = client.post("/api/v1/users", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    user = r.json()
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


def post(client: TestClient, who: Any, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/cases", json=body, headers=who["headers"])


def listed(client: TestClient, who: Any, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/cases", params=params, headers=who["headers"])
    assert r.status_code == 200, r.text
    return {item["id"]: item for item in r.json()["items"]}


def refused(response: Any, status: int, field: str, code: str) -> None:
    assert response.status_code == status, response.text
    errors = response.json()["detail"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)], errors
    assert errors[0]["message"] and errors[0]["message_en"]
    assert CHILD_NAME not in response.text


async def _case_events(url: str) -> list[tuple[str, str]]:
    """(case id, subject) of every message on CASES, read with an ephemeral consumer."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("case.v1.>", durable=None, stream="CASES")
        out: list[tuple[str, str]] = []
        while True:
            try:
                batch = await sub.fetch(200, timeout=1)
            except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either
                return out
            for msg in batch:
                parsed = envelope.decode(msg.headers, msg.data)
                out.append((str(parsed.data.case_id), msg.subject))  # type: ignore[attr-defined]
    finally:
        await nc.close()


def events_of(client: TestClient, nats_url: str, case_id: str) -> list[str]:
    assert client.portal is not None
    return [t for c, t in client.portal.call(_case_events, nats_url) if c == case_id]


# --- need to know --------------------------------------------------------------------------------


def test_another_officer_of_the_kelurahan_sees_the_line_but_not_the_case(
    client: TestClient,
) -> None:
    recorder = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    colleague = person(client, "Pak Budi", "officer", KARANG_REJO)
    elsewhere = person(client, "Ibu Sari", "officer", MEKAR_SARI)
    coordinator = person(client, "Ibu Rina", "coordinator")
    created = post(client, recorder, EXAMPLE_CASE)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    path = f"/api/v1/cases/{case_id}"

    # the colleague: the line, flagged, without any name; the case itself is refused
    r = client.get("/api/v1/cases", headers=colleague["headers"])
    assert CHILD_NAME not in r.text
    line = listed(client, colleague)[case_id]
    assert (line["reference"], line["restricted"], line["sensitive"]) == (
        created.json()["reference"],
        True,
        True,
    )
    refused(client.get(path, headers=colleague["headers"]), 403, "id", "need_to_know")
    change = client.patch(path, json={"risk_level": "low"}, headers=colleague["headers"])
    refused(change, 403, "id", "need_to_know")
    # another kelurahan: nothing, as before
    assert case_id not in listed(client, elsewhere)
    refused(client.get(path, headers=elsewhere["headers"]), 404, "id", "not_found")
    # the recorder and the coordinator: in full
    for who in (recorder, coordinator):
        assert listed(client, who)[case_id]["restricted"] is False
        r = client.get(path, headers=who["headers"])
        assert r.status_code == 200, r.text
        assert r.json()["victims"][0]["name"] == CHILD_NAME

    # assignment: the coordinator only, to an officer of the case's kelurahan
    assign = f"{path}/assign"
    r = client.post(assign, json={"officer_id": colleague["id"]}, headers=recorder["headers"])
    refused(r, 403, "authorization", "forbidden")
    r = client.post(assign, json={"officer_id": elsewhere["id"]}, headers=coordinator["headers"])
    refused(r, 422, "officer_id", "not_an_officer_of_the_kelurahan")
    r = client.post(assign, json={"officer_id": colleague["id"]}, headers=coordinator["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["assigned_to"] == [colleague["id"]]
    r = client.get(path, headers=colleague["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["victims"][0]["name"] == CHILD_NAME
    assert listed(client, colleague)[case_id]["restricted"] is False


def test_sexual_violence_or_a_child_victim_is_sensitive(client: TestClient) -> None:
    officer = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    adult_consent = {"given_by": "victim", "scope": ["police"]}
    bodies = {
        "child": case(),
        "adult_sexual": case(
            victims=[ADULT], violence_forms=["sexual"], consent=adult_consent, needs=[]
        ),
        "adult_physical": case(
            victims=[ADULT], violence_forms=["physical"], consent=adult_consent, needs=[]
        ),
    }
    ids = {}
    for name, body in bodies.items():
        r = post(client, officer, body)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        assert r.json()["sensitive"] is (name != "adult_physical"), name
    lines = listed(client, officer)
    assert {n: lines[i]["sensitive"] for n, i in ids.items()} == {
        "child": True,
        "adult_sexual": True,
        "adult_physical": False,
    }
    assert set(listed(client, officer, sensitive="false")) == {ids["adult_physical"]}
    assert set(listed(client, officer, sensitive="true")) == {ids["child"], ids["adult_sexual"]}


# --- the consent override ----------------------------------------------------------------------


def test_an_override_for_an_adult_is_refused_naming_the_consent(client: TestClient) -> None:
    officer = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    r = post(client, officer, case(victims=[ADULT], consent=OVERRIDE))
    refused(r, 422, "consent.given_by", "r5_override_only_for_child")
    assert "anak" in r.json()["detail"][0]["message"]
    assert listed(client, officer) == {}
    # nor can an adult's case be changed to an override later
    adult = post(
        client, officer, case(victims=[ADULT], consent={"given_by": "victim", "scope": ["police"]})
    )
    r = client.patch(
        f"/api/v1/cases/{adult.json()['id']}",
        json={"consent": OVERRIDE},
        headers=officer["headers"],
    )
    refused(r, 422, "consent.given_by", "r5_override_only_for_child")


def test_a_childs_override_waits_for_a_second_person_before_any_event(
    client: TestClient, nats_url: str
) -> None:
    officer = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    coordinator = person(client, "Ibu Rina", "coordinator")
    other_coordinator = person(client, "Pak Hadi", "coordinator")
    waiting = post(client, officer, case(consent=OVERRIDE))
    assert waiting.status_code == 201, waiting.text
    case_id = waiting.json()["id"]
    assert waiting.json()["override_status"] == "pending"
    # a case recorded after it, with a guardian's consent, reaches the stream: the relay ran
    control = post(client, officer, case())
    control_id = control.json()["id"]
    until(lambda: events_of(client, nats_url, control_id) == ["case.v1.created"])
    assert events_of(client, nats_url, case_id) == []
    # both lists show it waiting, and the coordinator can filter for it
    assert listed(client, officer)[case_id]["override_status"] == "pending"
    assert listed(client, coordinator)[case_id]["override_status"] == "pending"
    assert set(listed(client, coordinator, override="pending")) == {case_id}
    # a change while it waits is not published either
    path = f"/api/v1/cases/{case_id}"
    r = client.patch(path, json={"risk_level": "medium"}, headers=officer["headers"])
    assert r.status_code == 200, r.text

    confirm = f"{path}/override/confirm"
    refused(client.post(confirm, headers=officer["headers"]), 403, "authorization", "forbidden")
    time.sleep(0.5)
    assert events_of(client, nats_url, case_id) == []

    r = client.post(confirm, headers=coordinator["headers"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["override_status"], body["override_confirmed_by"]) == (
        "confirmed",
        coordinator["id"],
    )
    until(lambda: events_of(client, nats_url, case_id) == ["case.v1.created"])
    assert listed(client, officer)[case_id]["override_status"] == "confirmed"
    r = client.post(confirm, headers=other_coordinator["headers"])
    refused(r, 409, "consent.given_by", "no_override_waiting")

    # the coordinator who records an override cannot confirm it themselves
    own = post(client, coordinator, case(consent=OVERRIDE))
    assert own.status_code == 201, own.text
    own_confirm = f"/api/v1/cases/{own.json()['id']}/override/confirm"
    r = client.post(own_confirm, headers=coordinator["headers"])
    refused(r, 403, "consent.recorded_by", "override_needs_second_person")
    r = client.post(own_confirm, headers=other_coordinator["headers"])
    assert r.status_code == 200, r.text


def test_a_waiting_case_closed_never_reaches_the_stream(client: TestClient, nats_url: str) -> None:
    officer = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    waiting = post(client, officer, case(consent=OVERRIDE)).json()
    r = client.post(
        f"/api/v1/cases/{waiting['id']}/close",
        json={"outcome": "withdrawn"},
        headers=officer["headers"],
    )
    assert r.status_code == 200, r.text
    control = post(client, officer, case()).json()
    until(lambda: events_of(client, nats_url, control["id"]) == ["case.v1.created"])
    assert events_of(client, nats_url, waiting["id"]) == []
    assert uuid.UUID(waiting["id"])


def test_a_narrower_consent_keeps_a_confirmed_override_and_a_new_reason_waits_again(
    client: TestClient, nats_url: str
) -> None:
    officer = person(client, "Ibu Wulan", "officer", KARANG_REJO)
    coordinator = person(client, "Ibu Rina", "coordinator")
    case_id = post(client, officer, case(consent=OVERRIDE)).json()["id"]
    path = f"/api/v1/cases/{case_id}"
    assert client.post(f"{path}/override/confirm", headers=coordinator["headers"]).is_success
    until(lambda: events_of(client, nats_url, case_id) == ["case.v1.created"])

    # consent withdrawn from a partner kind: published at once, the override still confirmed
    narrower = {**OVERRIDE, "scope": ["police"]}
    r = client.patch(path, json={"consent": narrower}, headers=officer["headers"])
    assert r.json()["override_status"] == "confirmed", r.text
    until(lambda: events_of(client, nats_url, case_id) == ["case.v1.created", "case.v1.updated"])
    # another reason is another override: it waits, and nothing is published meanwhile
    renewed = {**narrower, "override_reason": "child_in_danger"}
    r = client.patch(path, json={"consent": renewed}, headers=officer["headers"])
    assert r.json()["override_status"] == "pending", r.text
    r = client.patch(path, json={"risk_level": "low"}, headers=officer["headers"])
    assert r.status_code == 200, r.text
    control = post(client, officer, case()).json()
    until(lambda: events_of(client, nats_url, control["id"]) == ["case.v1.created"])
    assert events_of(client, nats_url, case_id) == ["case.v1.created", "case.v1.updated"]
    assert client.post(f"{path}/override/confirm", headers=coordinator["headers"]).is_success
    until(
        lambda: events_of(client, nats_url, case_id)
        == ["case.v1.created", "case.v1.updated", "case.v1.updated"]
    )


def test_cases_recorded_before_the_upgrade_are_marked_and_not_held_back(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """Migration intake_0007 on a database holding cases: each is marked sensitive as a new one
    would be, and none waits for a confirmation (they were published when recorded)."""
    columns = {
        "id": sa.Uuid(),
        "reported_at": UtcDateTime(),
        "created_at": UtcDateTime(),
        "updated_at": UtcDateTime(),
        "created_by": sa.Uuid(),
        **{c: sa.JSON() for c in ("violence_forms", "reporter", "victims", "needs", "consent")},
    }
    old_case = sa.table(
        "case_record",
        *(sa.column(c, t) for c, t in columns.items()),
        *(sa.column(c) for c in ("reference", "kelurahan_code", "status", "risk_level")),
        *(sa.column(c) for c in ("place", "version")),
    )
    now = dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)
    ids = {"child": uuid.uuid4(), "adult": uuid.uuid4()}

    def row(name: str, forms: list[str], is_child: bool) -> dict[str, Any]:
        return {
            "id": ids[name],
            "reference": f"BPT-2026-{name}",
            "kelurahan_code": KARANG_REJO,
            "status": "open",
            "risk_level": "high",
            "reported_at": now,
            "place": "household",
            "violence_forms": forms,
            "reporter": {"kind": "neighbour"},
            "victims": [{"name": "x", "sex": "female", "age_group": "6-12", "is_child": is_child}],
            "needs": [],
            "consent": {"given_by": "guardian", "scope": ["police"]},
            "created_by": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }

    async def before_0007() -> None:
        engine = db.create_engine(database_url)
        cfg = alembic_config(MIGRATIONS)

        def upgrade(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "intake_0006")
            command.upgrade(cfg, "plumbing@head")

        try:
            async with engine.begin() as conn:
                await conn.run_sync(upgrade)
                await conn.execute(
                    old_case.insert(),
                    [row("child", ["physical"], True), row("adult", ["physical"], False)],
                )
        finally:
            await engine.dispose()

    asyncio.run(before_0007())
    settings = IntakeSettings(
        database_url=database_url, nats_url=nats_url, data_dir=tmp_path, admin_token=ADMIN
    )
    with TestClient(create_app(settings)) as client:  # upgrades to the head
        coordinator = person(client, "Ibu Rina", "coordinator")
        lines = listed(client, coordinator)
        assert {n: lines[str(i)]["sensitive"] for n, i in ids.items()} == {
            "child": True,
            "adult": False,
        }
        assert {lines[str(i)]["override_status"] for i in ids.values()} == {None}
