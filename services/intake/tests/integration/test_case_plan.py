"""The case plan (issue 20, item 3) on a real nats-server and database: tasks added, read,
done and cancelled under a case's own access rule, sealed at rest; the officer's and the
coordinator's lists of overdue work reckoned on WITA's date (at 02:00 WITA as well); erasure;
and the reminder job staging `case.v1.task.due` once per task, with two replicas running."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jejaring.intake import plan
from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto, db
from jejaring.shared.contract import envelope
from jejaring.shared.contract.events import CaseTaskDue
from jejaring.shared.messaging.outbox import Outbox
from jejaring.testing import EXAMPLE_CASE, ShiftedClock, until

ADMIN = "admin-token-for-tests-0123456789"
K1 = crypto.generate_line("k1")
WITA = dt.timezone(dt.timedelta(hours=8))
HERE = EXAMPLE_CASE["kelurahan_code"]  # Karang Rejo
ELSEWHERE = "64.71.04.1001"  # Gunung Sari Ulu
TITLE = "Mendampingi Ibu Sulastri ke Polresta untuk BAP"
GOAL = "Laporan polisi atas nama Sulastri diterima"
# 10 December 2026 at 02:00 WITA is still 9 December in UTC: "today" and "tomorrow" must be
# WITA's (the suite also runs with every clock at 02:00 WITA).
TODAY = dt.date(2026, 12, 10)
AT_2AM = dt.datetime(2026, 12, 10, 2, 0, tzinfo=WITA)


def settings(database_url: str, nats_url: str, tmp_path: Path, **more: Any) -> IntakeSettings:
    return IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=K1,
        **more,
    )


@contextmanager
def intake(
    database_url: str, nats_url: str, tmp_path: Path, clock: ShiftedClock, **more: Any
) -> Iterator[TestClient]:
    app = create_app(settings(database_url, nats_url, tmp_path, **more), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield client


def person(
    client: TestClient, role: str, name: str, kelurahan: str | None = HERE, phone: str = ""
) -> dict[str, Any]:
    user: dict[str, Any] = {"name": name, "role": role}
    if role == "officer":
        user["kelurahan_code"] = kelurahan
    if phone:
        user["phone"] = phone
    r = client.post("/api/v1/users", json=user, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    return {"id": r.json()["id"], "headers": {"Authorization": f"Bearer {r.json()['token']}"}}


def record(client: TestClient, officer: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/cases", json=EXAMPLE_CASE, headers=officer["headers"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def add(
    client: TestClient, case: dict[str, Any], who: dict[str, Any], **body: Any
) -> dict[str, Any]:
    r = client.post(f"/api/v1/cases/{case['id']}/tasks", json=body, headers=who["headers"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def refused(r: Any, status: int, field: str, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    fields = [(e["field"], e["code"]) for e in r.json()["detail"]]
    assert any(f == field and (code is None or c == code) for f, c in fields), fields
    assert all(e["message"] and e["message_en"] for e in r.json()["detail"])


def work(client: TestClient, who: dict[str, Any], **params: str) -> dict[str, Any]:
    r = client.get("/api/v1/tasks", params=params, headers=who["headers"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def sql(database_url: str, query: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = db.create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(sa.text(query))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_an_officer_plans_tasks_on_her_case_and_closes_them(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    clock = ShiftedClock(dt.datetime(2026, 12, 1, 10, 0, tzinfo=WITA))
    with intake(database_url, nats_url, tmp_path, clock) as client:
        officer = person(client, "officer", "Ibu Wulan")
        colleague = person(client, "officer", "Ibu Sari")  # same kelurahan, not on the case
        stranger = person(client, "officer", "Ibu Lina", kelurahan=ELSEWHERE)
        coordinator = person(client, "coordinator", "Ibu Rina")
        case = record(client, officer)
        path = f"/api/v1/cases/{case['id']}/tasks"
        task = add(
            client,
            case,
            officer,
            title=TITLE,
            goal=GOAL,
            due_on="2026-12-05",
            responsible_user_id=officer["id"],
        )
        legal = add(
            client,
            case,
            officer,
            title="Posbakum menyiapkan gugatan",
            due_on="2026-12-20",
            responsible_partner="posbakum-aisyiyah",
        )
        assert task["title"] == TITLE and task["goal"] == GOAL and task["status"] == "open"
        assert task["responsible"] == {
            "user_id": officer["id"],
            "name": "Ibu Wulan",
            "partner": None,
        }
        assert legal["responsible"]["partner"] == "posbakum-aisyiyah"

        # bad input: each refusal names the field and the reason
        good = {"title": "x", "due_on": "2026-12-05", "responsible_user_id": officer["id"]}
        for body, field, code in [
            ({**good, "title": "  "}, "title", None),
            ({**good, "title": 123}, "title", None),
            ({**good, "title": "x" * 201}, "title", None),
            ({**good, "goal": "baris satu\nbaris dua"}, "goal", None),
            ({**good, "due_on": "2026-02-30"}, "due_on", None),
            ({**good, "due_on": "9999-12-31"}, "due_on", "due_too_far"),
            ({**good, "responsible_user_id": "abc"}, "responsible_user_id", None),
            ({**good, "priority": "high"}, "priority", None),
            ({**good, "due_on": "kemarin"}, "due_on", None),
            ({**good, "due_on": "2026-11-19"}, "due_on", "due_before_report"),
            ({**good, "due_on": "2029-01-01"}, "due_on", "due_too_far"),
            ({**good, "responsible_user_id": None}, "responsible_user_id", "one_responsible"),
            ({**good, "responsible_partner": "posbakum"}, "responsible_user_id", "one_responsible"),
            (
                {**good, "responsible_user_id": None, "responsible_partner": "Pos Bakum!"},
                "responsible_partner",
                "partner_slug_format",
            ),
            # an officer who may not open the case, of here or elsewhere, is nobody's choice
            ({**good, "responsible_user_id": colleague["id"]}, "responsible_user_id", None),
            ({**good, "responsible_user_id": stranger["id"]}, "responsible_user_id", None),
            ({**good, "responsible_user_id": str(uuid.uuid4())}, "responsible_user_id", None),
        ]:
            refused(client.post(path, json=body, headers=officer["headers"]), 422, field, code)

        # the case's own access rule: another kelurahan's officer 404, a colleague 403
        refused(client.get(path, headers=stranger["headers"]), 404, "id")
        refused(client.post(path, json=good, headers=colleague["headers"]), 403, "id")
        done = f"{path}/{task['id']}/done"
        refused(client.post(done, headers=colleague["headers"]), 403, "id")

        # the coordinator may make herself responsible; the choices are who may open the case
        shown = client.get(path, headers=coordinator["headers"]).json()
        assert {c["id"] for c in shown["responsible_choices"]} == {officer["id"], coordinator["id"]}
        add(
            client,
            case,
            coordinator,
            title="Rapat",
            due_on="2026-12-03",
            **{"responsible_user_id": coordinator["id"]},
        )

        r = client.post(done, headers=officer["headers"])
        assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["done_at"]
        refused(client.post(done, headers=officer["headers"]), 409, "status", "task_not_open")
        r = client.post(f"{path}/{legal['id']}/cancel", headers=coordinator["headers"])
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        r = client.post(f"{path}/{uuid.uuid4()}/done", headers=officer["headers"])
        refused(r, 404, "task_id")

        plan_ = client.get(path, headers=officer["headers"]).json()
        assert [(t["due_on"], t["status"]) for t in plan_["tasks"]] == [
            ("2026-12-03", "open"),
            ("2026-12-05", "done"),
            ("2026-12-20", "cancelled"),
        ]
        assert plan_["today"] == "2026-12-01"
    # sealed at rest: no title or goal in the table
    rows = " ".join(repr(r) for r in sql(database_url, "SELECT * FROM case_task"))
    assert TITLE not in rows and GOAL not in rows and "Posbakum menyiapkan" not in rows
    actions = [r[0] for r in sql(database_url, "SELECT action FROM audit_record ORDER BY seq")]
    assert actions.count("task.create") == 3
    assert "task.done" in actions and "task.cancel" in actions and "task.read" in actions


def test_overdue_work_shows_on_the_officer_s_and_the_coordinator_s_lists_at_2_am(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    clock = ShiftedClock(AT_2AM)
    with intake(database_url, nats_url, tmp_path, clock) as client:
        officer = person(client, "officer", "Ibu Wulan")
        other = person(client, "officer", "Ibu Lina", kelurahan=ELSEWHERE)
        coordinator = person(client, "coordinator", "Ibu Rina")
        case = record(client, officer)
        late = add(
            client,
            case,
            officer,
            title=TITLE,
            due_on=str(TODAY - dt.timedelta(days=1)),
            responsible_user_id=officer["id"],
        )
        today_ = add(
            client,
            case,
            officer,
            title="Telepon korban",
            due_on=str(TODAY),
            responsible_user_id=officer["id"],
        )
        partner = add(
            client,
            case,
            officer,
            title="Konseling",
            due_on="2026-12-01",
            responsible_partner="bikksa-mentari",
        )
        assert late["overdue"] and not today_["overdue"] and partner["overdue"]

        mine = work(client, officer)
        assert [(i["id"], i["overdue"]) for i in mine["items"]] == [
            (late["id"], True),
            (today_["id"], False),
        ]
        assert mine["today"] == str(TODAY)
        assert mine["items"][0]["title"] == TITLE  # her own task: she may read its title
        assert mine["items"][0]["reference"] == case["reference"]
        overdue = work(client, officer, overdue="true")["items"]
        assert [i["id"] for i in overdue] == [late["id"]]
        assert work(client, other, overdue="true")["items"] == []

        board = work(client, coordinator, responsible="all", overdue="true")["items"]
        assert {i["id"] for i in board} == {late["id"], partner["id"]}
        line = next(i for i in board if i["id"] == late["id"])
        assert line["responsible"]["name"] == "Ibu Wulan"
        assert line["kelurahan"] == {"code": HERE, "name": "Karang Rejo"}
        assert line["title"] is None  # not hers: the board shows no task text
        assert work(client, coordinator, responsible="all", kelurahan=ELSEWHERE)["items"] == []
        r = client.get("/api/v1/tasks", params={"responsible": "all"}, headers=officer["headers"])
        refused(r, 403, "authorization")
        r = client.get("/api/v1/tasks", params={"overdue": "perhaps"}, headers=officer["headers"])
        refused(r, 422, "overdue")

        # a day later the task due today is overdue as well; a closed case is no one's work
        clock.set(AT_2AM + dt.timedelta(days=1))
        assert [i["overdue"] for i in work(client, officer)["items"]] == [True, True]
        r = client.post(
            f"/api/v1/cases/{case['id']}/close",
            json={"outcome": "resolved"},
            headers=officer["headers"],
        )
        assert r.status_code == 200, r.text
        assert work(client, officer)["items"] == []
        assert work(client, coordinator, responsible="all")["items"] == []
        r = client.post(
            f"/api/v1/cases/{case['id']}/tasks/{late['id']}/done", headers=officer["headers"]
        )
        refused(r, 409, "status", "case_closed")


def test_an_erased_case_s_tasks_read_without_text_and_take_no_change(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    clock = ShiftedClock(dt.datetime(2026, 12, 1, 10, 0, tzinfo=WITA))
    with intake(database_url, nats_url, tmp_path, clock) as client:
        officer = person(client, "officer", "Ibu Wulan")
        coordinator = person(client, "coordinator", "Ibu Rina")
        dpo = person(client, "dpo", "Pak Dimas")
        case = record(client, officer)
        task = add(
            client,
            case,
            officer,
            title=TITLE,
            goal=GOAL,
            due_on="2026-11-30",
            responsible_user_id=officer["id"],
        )
        r = client.post(
            f"/api/v1/cases/{case['id']}/erase",
            json={"reason": "subject_request"},
            headers=dpo["headers"],
        )
        assert r.status_code == 200, r.text
        path = f"/api/v1/cases/{case['id']}/tasks"
        shown = client.get(path, headers=coordinator["headers"])
        assert shown.status_code == 200, shown.text
        assert shown.json()["erased"] is True
        assert [(t["id"], t["title"], t["goal"]) for t in shown.json()["tasks"]] == [
            (task["id"], None, None)
        ]
        assert shown.json()["responsible_choices"] == []
        good = {"title": "x", "due_on": "2026-12-05", "responsible_user_id": officer["id"]}
        refused(client.post(path, json=good, headers=officer["headers"]), 409, "erased_at")
        r = client.post(f"{path}/{task['id']}/done", headers=officer["headers"])
        refused(r, 409, "erased_at")
        assert work(client, officer)["items"] == []
        assert work(client, coordinator, responsible="all", overdue="true")["items"] == []
    assert sql(database_url, "SELECT sealed FROM case_task") == [(None,)]


async def _task_due_on_cases(url: str) -> list[tuple[str, CaseTaskDue]]:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().pull_subscribe("case.v1.task.due", durable=None, stream="CASES")
        try:
            msgs = await sub.fetch(100, timeout=1)
        except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
            return []
        found = []
        for m in msgs:
            message = envelope.decode(m.headers, m.data)
            assert isinstance(message.data, CaseTaskDue)
            found.append((message.id, message.data))
        return found
    finally:
        await nc.close()


def test_a_task_due_tomorrow_is_announced_once_by_racing_runs_replicas_and_restarts(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """At 02:00 WITA on the 10th, "tomorrow" is the 11th (UTC still says the 9th): that task,
    and only it, is announced. The job runs twice at once, then a second replica (a restart,
    as far as the job can tell) runs it every 0.1 s: one event, one `reminded_at`."""
    clock = ShiftedClock(AT_2AM)
    with intake(database_url, nats_url, tmp_path / "a", clock) as client:
        officer = person(client, "officer", "Ibu Wulan", phone="081311112222")
        case = record(client, officer)
        due: dict[str, dict[str, Any]] = {}
        for day in (0, 1, 2):
            due[f"+{day}"] = add(
                client,
                case,
                officer,
                title=TITLE,
                goal=GOAL,
                due_on=str(TODAY + dt.timedelta(days=day)),
                responsible_user_id=officer["id"],
            )
        add(
            client,
            case,
            officer,
            title="Mitra",
            due_on=str(TODAY + dt.timedelta(days=1)),
            responsible_partner="polresta-ppa",
        )

        async def twice_at_once() -> list[int]:
            engine = db.create_engine(database_url)
            try:
                sessions = db.session_factory(engine)
                outbox = Outbox(source="/jejaring/intake")
                runs = (plan.remind(sessions, outbox=outbox, clock=clock, zone=WITA) for _ in "ab")
                return list(await asyncio.gather(*runs))
            finally:
                await engine.dispose()

        portal: Any = client.portal
        assert sorted(portal.call(twice_at_once)) == [0, 1]
        quick = {"task_reminder_interval_s": 0.1}
        with intake(database_url, nats_url, tmp_path / "b", clock, **quick):
            time.sleep(1.5)  # the replica's job runs about fifteen times
        announced = until(lambda: portal.call(_task_due_on_cases, nats_url))
        time.sleep(0.5)  # anything else the relay would publish
        announced = portal.call(_task_due_on_cases, nats_url)
    assert len(announced) == 1, announced
    msg_id, event = announced[0]
    assert event.task_id == uuid.UUID(due["+1"]["id"])
    assert event.due_on == TODAY + dt.timedelta(days=1)
    assert event.reference == case["reference"] and event.kelurahan_code == HERE
    assert event.officer.name == "Ibu Wulan" and event.officer.phone == "081311112222"
    assert msg_id == plan.reminder_id(event.task_id)
    assert TITLE not in event.model_dump_json() and GOAL not in event.model_dump_json()
    reminded = sql(database_url, "SELECT id FROM case_task WHERE reminded_at IS NOT NULL")
    assert [str(uuid.UUID(str(r[0]))) for r in reminded] == [due["+1"]["id"]]
    staged = sql(database_url, "SELECT subject FROM outbox WHERE subject = 'case.v1.task.due'")
    assert len(staged) == 1
