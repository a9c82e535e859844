"""Case work (issue 20, items 1 and 2) on a real database and nats-server: activities recorded
and listed, their notes sealed, mediation only where R1 and the risk allow it, an agreement's
follow-up visit in the case's plan, and closed and erased cases."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from jejaring.intake.app import create_app
from jejaring.intake.keyring import Keyring
from jejaring.intake.settings import IntakeSettings
from jejaring.intake.tasks import PURPOSE as TASK_PURPOSE
from jejaring.shared import crypto, db
from jejaring.testing import THREE_WAY_CASE, ShiftedClock, run_sql, until

ADMIN = "admin-token-for-tests-0123456789"
KEYS = crypto.generate_line("k1")
# "Today" for every test, whatever the hour the suite runs at: the cases were reported on
# 20 November 2026 (WITA).
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
TODAY = dt.date(2026, 11, 25)
NOTE = "Ibu Kartini Wulandari menangis di ruang PPA, diantar ke Polresta bersama kakaknya"


def settings_of(database_url: str, nats_url: str, tmp_path: Path) -> IntakeSettings:
    return IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=KEYS,
    )


@contextmanager
def intake(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings_of(database_url, nats_url, tmp_path), clock=ShiftedClock(NOW))
    with TestClient(app, raise_server_exceptions=False) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield client


def person(
    client: TestClient, role: str, name: str, kelurahan: str = "64.71.04.1003"
) -> dict[str, str]:
    user: dict[str, Any] = {"name": name, "role": role}
    if role == "officer":
        user["kelurahan_code"] = kelurahan
    r = client.post("/api/v1/users", json=user, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "id": r.json()["id"]}


def headers(who: dict[str, str]) -> dict[str, str]:
    return {"Authorization": who["Authorization"]}


def record(client: TestClient, officer: dict[str, str], **changes: Any) -> str:
    body = copy.deepcopy(THREE_WAY_CASE)  # physical violence, medium risk, an adult victim
    body.update(changes)
    r = client.post("/api/v1/cases", json=body, headers=headers(officer))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def sexual_violence(perpetrator_is_child: bool) -> dict[str, Any]:
    return {
        "violence_forms": ["sexual"],
        "needs": ["counselling"],
        "consent": {"given_by": "victim", "scope": ["counselling"]},
        "perpetrator": {
            "relationship": "neighbour",
            "sex": "male",
            "is_child": perpetrator_is_child,
        },
    }


def add(client: TestClient, officer: dict[str, str], case_id: str, **body: Any) -> Any:
    activity = {"kind": "home_visit", "occurred_on": "2026-11-24", "note": "Kunjungan rumah."}
    activity.update(body)
    return client.post(
        f"/api/v1/cases/{case_id}/activities", json=activity, headers=headers(officer)
    )


def listed(client: TestClient, who: dict[str, str], case_id: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/cases/{case_id}/activities", headers=headers(who))
    assert r.status_code == 200, r.text
    return list(r.json())


def refusal(r: Any) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in r.json()["detail"]}


def hexed(value: object) -> str:
    """A UUID as SQLite stores it and PostgreSQL answers it, to compare them."""
    return str(value).replace("-", "")


def data_key(database_url: str, nats_url: str, tmp_path: Path, case_id: str) -> bytes | None:
    """The case's data key as intake's keyring unwraps it (None once erased)."""
    keyring = Keyring(settings_of(database_url, nats_url, tmp_path).keyring_keys())

    async def run() -> bytes | None:
        engine = db.create_engine(database_url)
        try:
            async with db.session_factory(engine)() as session:
                return await keyring.get(session, uuid.UUID(case_id))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def audit_actions(client: TestClient, coordinator: dict[str, str], reference: str) -> list[str]:
    r = client.get(
        "/api/v1/audit",
        params={"case_reference": reference, "per_page": 200},
        headers=headers(coordinator),
    )
    assert r.status_code == 200, r.text
    return [item["action"] for item in r.json()["items"]]


def test_activities_are_recorded_and_listed_newest_first_each_read_audited(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        coordinator = person(client, "coordinator", "Ibu Rina")
        case_id = record(client, officer)
        r = add(client, officer, case_id, kind="accompaniment", place="police",
                occurred_on="2026-11-21", note=NOTE)  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["note"] == NOTE and r.json()["place"] == "police"
        assert add(client, officer, case_id, occurred_on="2026-11-23").status_code == 201
        r = add(client, coordinator, case_id, kind="phone_follow_up", occurred_on="2026-11-22",
                note="Korban ditelepon, keadaan baik.")  # fmt: skip
        assert r.status_code == 201, r.text
        assert add(client, officer, case_id, kind="partner_meeting",
                   occurred_on=TODAY.isoformat()).status_code == 201  # fmt: skip
        found = listed(client, officer, case_id)
        reference = client.get(f"/api/v1/cases/{case_id}", headers=headers(officer)).json()[
            "reference"
        ]
        actions = audit_actions(client, coordinator, reference)
    assert [(a["occurred_on"], a["kind"]) for a in found] == [
        ("2026-11-25", "partner_meeting"),
        ("2026-11-23", "home_visit"),
        ("2026-11-22", "phone_follow_up"),
        ("2026-11-21", "accompaniment"),
    ]
    assert found[3]["note"] == NOTE and found[3]["place"] == "police"
    assert found[3]["recorded_by_name"] == "Ibu Wulan"
    assert found[2]["recorded_by_name"] == "Ibu Rina"
    assert not any(a["erased"] for a in found)
    assert actions.count("activity.record") == 4
    # the case's read before the list, and the list itself: each a case.read
    assert actions[-2:] == ["case.read", "case.read"]


def test_an_activity_is_refused_with_the_field_and_the_reason(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        colleague = person(client, "officer", "Pak Joko")  # same kelurahan, not assigned
        elsewhere = person(client, "officer", "Ibu Sari", kelurahan="64.71.04.1001")
        case_id = record(client, officer)
        answers = {
            "no place": add(client, officer, case_id, kind="accompaniment"),
            "place for a visit": add(client, officer, case_id, place="court"),
            "tomorrow": add(client, officer, case_id, occurred_on="2026-11-26"),
            "before the report": add(client, officer, case_id, occurred_on="2026-11-19"),
            "long note": add(client, officer, case_id, note="x" * 1001),
            "empty note": add(client, officer, case_id, note="   "),
            "unknown kind": add(client, officer, case_id, kind="party"),
            "outcome of a visit": add(client, officer, case_id, outcome="agreement"),
        }
        colleague_answer = add(client, colleague, case_id)
        elsewhere_answer = add(client, elsewhere, case_id)
        unknown_case = add(client, officer, str(uuid.uuid4()))
        found = listed(client, officer, case_id)
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 422)
    assert refusal(answers["no place"]) == {("place", "place_missing")}
    assert refusal(answers["place for a visit"]) == {("place", "place_only_for_accompaniment")}
    assert refusal(answers["tomorrow"]) == {("occurred_on", "date_in_future")}
    assert refusal(answers["before the report"]) == {("occurred_on", "before_report")}
    assert {f for f, _ in refusal(answers["long note"])} == {"note"}
    assert {f for f, _ in refusal(answers["empty note"])} == {"note"}
    assert {f for f, _ in refusal(answers["unknown kind"])} == {"kind"}
    assert refusal(answers["outcome of a visit"]) == {("outcome", "only_for_mediation")}
    assert "masa depan" in answers["tomorrow"].json()["detail"][0]["message"]
    assert colleague_answer.status_code == 403
    assert elsewhere_answer.status_code == 404
    assert unknown_case.status_code == 404
    assert found == []


def test_mediation_is_refused_for_sexual_violence_by_an_adult_and_for_a_high_risk_case(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    mediation = {"kind": "mediation_session", "outcome": "no_agreement"}
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        sexual = record(client, officer, **sexual_violence(perpetrator_is_child=False))
        high = record(client, officer, risk_level="high")
        refused_sexual = add(client, officer, sexual, **mediation)
        refused_high = add(client, officer, high, **mediation)
        visit = add(client, officer, sexual)  # other work on the case goes on
        found = {c: listed(client, officer, c) for c in (sexual, high)}
    assert refused_sexual.status_code == 422
    assert refusal(refused_sexual) == {("kind", "r1_no_mediation_sexual_violence")}
    assert "kekerasan seksual" in refused_sexual.json()["detail"][0]["message"]
    assert refused_high.status_code == 422
    assert refusal(refused_high) == {("kind", "no_mediation_high_risk")}
    assert "risiko kasus tinggi" in refused_high.json()["detail"][0]["message"]
    assert visit.status_code == 201
    assert [a["kind"] for a in found[sexual]] == ["home_visit"]
    assert found[high] == []
    assert run_sql(database_url, sa.text("SELECT count(*) FROM case_task")) == [(0,)]


def test_mediation_is_recorded_for_a_child_perpetrator_and_a_medium_risk_physical_case(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        by_a_child = record(client, officer, **sexual_violence(perpetrator_is_child=True))
        physical = record(client, officer)
        no_outcome = add(client, officer, physical, kind="mediation_session")
        referred = add(client, officer, by_a_child, kind="mediation_session", outcome="referred")
        no_agreement = add(
            client, officer, physical, kind="mediation_session", outcome="no_agreement"
        )
        found = listed(client, officer, physical)
    assert no_outcome.status_code == 422
    assert refusal(no_outcome) == {("outcome", "outcome_missing")}
    assert referred.status_code == 201, referred.text
    assert referred.json()["outcome"] == "referred"
    assert no_agreement.status_code == 201, no_agreement.text
    assert [(a["kind"], a["outcome"]) for a in found] == [("mediation_session", "no_agreement")]
    assert found[0]["follow_up_task_id"] is None
    assert run_sql(database_url, sa.text("SELECT count(*) FROM case_task")) == [(0,)]


def test_an_agreement_adds_the_follow_up_visit_to_the_plan(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    agreement = {"kind": "mediation_session", "outcome": "agreement", "occurred_on": "2026-11-24"}
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        case_id = record(client, officer)
        no_date = add(client, officer, case_id, **agreement)
        same_day = add(client, officer, case_id, **agreement, follow_up_due="2026-11-24")
        r = add(client, officer, case_id, **agreement, follow_up_due="2026-12-08")
        found = listed(client, officer, case_id)
    assert refusal(no_date) == {("follow_up_due", "follow_up_due_missing")}
    assert refusal(same_day) == {("follow_up_due", "follow_up_not_after_session")}
    assert r.status_code == 201, r.text
    assert found[0]["follow_up_due"] == "2026-12-08"
    rows = run_sql(
        database_url,
        sa.text(
            "SELECT id, case_id, kind, due_on, responsible_user_id, status, sealed, created_by "
            "FROM case_task"
        ),
    )
    assert len(rows) == 1
    task = rows[0]
    assert hexed(task.id) == hexed(found[0]["follow_up_task_id"])
    assert (task.kind, task.status) == ("follow_up_visit", "open")
    assert str(task.due_on) == "2026-12-08"
    assert hexed(task.responsible_user_id) == hexed(officer["id"])
    assert hexed(task.created_by) == hexed(officer["id"])
    assert "Kunjungan" not in task.sealed
    key = data_key(database_url, nats_url, tmp_path, case_id)
    assert key is not None
    title = crypto.unseal(key, task.sealed, associated=crypto.aad(case_id, TASK_PURPOSE))
    assert title.decode() == "Kunjungan tindak lanjut kesepakatan mediasi"


def test_the_note_is_sealed_in_the_database(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        case_id = record(client, officer)
        r = add(client, officer, case_id, kind="accompaniment", place="shelter", note=NOTE)
        assert r.status_code == 201, r.text
        rows = run_sql(database_url, sa.text("SELECT * FROM case_activity"))
        raw = b""
        if make_url(database_url).get_backend_name() == "sqlite":  # while intake runs: its WAL
            file = Path(str(make_url(database_url).database))
            raw = b"".join(p.read_bytes() for p in file.parent.glob(file.name + "*"))
            assert b"case_activity" in raw  # the database's own files were read
    assert len(rows) == 1
    assert NOTE not in repr(rows)
    assert b"Kartini" not in raw and b"Polresta" not in raw
    assert rows[0].kind == "accompaniment" and rows[0].place == "shelter"


def test_a_closed_case_takes_no_activity_and_an_erased_one_lists_them_without_notes(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        dpo = person(client, "dpo", "Pak Dimas")
        closed = record(client, officer)
        erased = record(client, officer)
        for case_id in (closed, erased):
            assert add(client, officer, case_id, note=NOTE).status_code == 201
        r = client.post(
            f"/api/v1/cases/{closed}/close", json={"outcome": "resolved"}, headers=headers(officer)
        )
        assert r.status_code == 200, r.text
        after_close = add(client, officer, closed)
        r = client.post(
            f"/api/v1/cases/{erased}/erase",
            json={"reason": "subject_request"},
            headers=headers(dpo),
        )
        assert r.status_code == 200, r.text
        after_erasure = add(client, officer, erased)
        on_erased = listed(client, officer, erased)
        on_closed = listed(client, officer, closed)
        rows = run_sql(database_url, sa.text("SELECT case_id, sealed FROM case_activity"))
    assert after_close.status_code == 409
    assert refusal(after_close) == {("status", "case_closed")}
    assert after_erasure.status_code == 409
    assert refusal(after_erasure) == {("erased_at", "case_erased")}
    assert [(a["kind"], a["note"], a["erased"]) for a in on_erased] == [("home_visit", None, True)]
    assert on_closed[0]["note"] == NOTE and not on_closed[0]["erased"]
    sealed = {hexed(r.case_id): r.sealed for r in rows}
    assert sealed[hexed(erased)] is None and sealed[hexed(closed)] is not None


def activity_bodies() -> st.SearchStrategy[Any]:
    """Activities with every field drawn from its codes, odd dates, odd texts or any JSON."""
    anything = st.none() | st.integers() | st.text(max_size=30) | st.lists(st.integers())
    dates = st.dates(dt.date(2026, 11, 1), dt.date(2027, 1, 31)).map(dt.date.isoformat)

    def one_of(*codes: str) -> st.SearchStrategy[Any]:
        return st.sampled_from(codes) | anything

    fields = {
        "kind": one_of("accompaniment", "home_visit", "mediation_session", "partner_meeting"),
        "place": one_of("police", "court", "shelter"),
        "occurred_on": dates | anything,
        "note": st.text(min_size=0, max_size=1100) | anything,
        "outcome": one_of("agreement", "no_agreement", "referred"),
        "follow_up_due": dates | anything,
    }
    some = st.fixed_dictionaries({}, optional=fields)
    return some | st.dictionaries(st.text(max_size=10), anything, max_size=4) | anything


def test_random_activity_bodies_never_cause_a_server_error(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        case_id = record(client, officer)
        path = f"/api/v1/cases/{case_id}/activities"

        @settings(max_examples=150, deadline=None, database=None)
        @given(body=activity_bodies())
        def post(body: Any) -> None:
            r = client.post(path, json=body, headers=headers(officer))
            assert r.status_code in (201, 422), (r.status_code, r.text)
            if r.status_code == 422:
                assert all(e["field"] and e["message"] for e in r.json()["detail"])

        post()
        assert client.get(path, headers=headers(officer)).status_code == 200
