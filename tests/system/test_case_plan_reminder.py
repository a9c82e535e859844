"""The case plan's reminder end to end (issue 20, item 3): intake's job finds a task due
tomorrow (WITA), notify sends the person responsible one SMS through a real HTTP gateway
stand-in, over a real nats-server; with two intake replicas running the job many times, one
SMS; at 02:00 WITA it waits for the end of the night and is sent then; the text names the
reference and the day, never the task, the victim or the offence.

Intake and notify run in this process (their app factories, SQLite files of their own), so
that one shifted clock can put both at 02:00 WITA."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from jejaring.intake.app import create_app as create_intake
from jejaring.intake.settings import IntakeSettings
from jejaring.notify.app import create_app as create_notify
from jejaring.notify.settings import NotifySettings
from jejaring.shared import crypto
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.testing import CHILD_NAME, EXAMPLE_CASE, ShiftedClock, until
from jejaring.testing.http_peer import HttpPeer, Received

ADMIN = "admin-token-for-tests-0123456789"
WITA = dt.timezone(dt.timedelta(hours=8))
AT_2AM = dt.datetime(2026, 12, 10, 2, 0, tzinfo=WITA)  # still 9 December in UTC
TITLE = "Mendampingi Ibu Sulastri ke Polresta untuk BAP"
GOAL = "Laporan polisi atas nama Sulastri diterima"
OFFICER_PHONE = "+62 813 1111 2222"


@contextmanager
def intake(db: Path, nats_url: str, clock: ShiftedClock, keys: str) -> Iterator[TestClient]:
    settings = IntakeSettings(
        database_url=f"sqlite+aiosqlite:///{db}",
        nats_url=nats_url,
        data_dir=db.parent,
        admin_token=ADMIN,
        master_keys=keys,
        task_reminder_interval_s=0.1,
        relay_poll_interval_s=0.1,
    )
    with TestClient(create_intake(settings, clock=clock)) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield client


def test_one_reminder_reaches_the_officer_s_phone_after_the_night_without_the_task_s_text(
    tmp_path: Path,
) -> None:
    clock = ShiftedClock(AT_2AM)
    sms: list[dict[str, Any]] = []

    def gateway(request: Received) -> tuple[int, Any]:
        sms.append(request.json())
        return 200, {"status": "queued", "message_id": f"sms-{len(sms)}"}

    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log").start()
    try:
        with HttpPeer(gateway) as peer, intake_pair(tmp_path, server.url, clock) as client:
            notify_settings = NotifySettings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
                nats_url=server.url,
                data_dir=tmp_path / "notify",
                admin_token=ADMIN,
                sms_channel="gateway",
                sms_gateway_url=f"{peer.url}/send",
                sms_gateway_auth_header="X-API-Key: test-key",
                sms_gateway_body_template='{"msisdn": "{to}", "text": "{text}"}',
                dispatch_interval_s=0.05,
                public_url="https://jejaring.example",
            )
            with TestClient(create_notify(notify_settings, clock=clock)) as notify:
                until(lambda: notify.get("/readyz").status_code == 200)
                admin = {"Authorization": f"Bearer {ADMIN}"}
                r = client.post(
                    "/api/v1/users",
                    json={
                        "name": "Ibu Wulan",
                        "role": "officer",
                        "kelurahan_code": EXAMPLE_CASE["kelurahan_code"],
                        "phone": OFFICER_PHONE,
                    },
                    headers=admin,
                )
                assert r.status_code == 201, r.text
                officer = {"Authorization": f"Bearer {r.json()['token']}"}
                officer_id = r.json()["id"]
                r = client.post("/api/v1/cases", json=EXAMPLE_CASE, headers=officer)
                assert r.status_code == 201, r.text
                case = r.json()
                for day in (10, 11, 12):  # today, tomorrow (WITA), the day after
                    r = client.post(
                        f"/api/v1/cases/{case['id']}/tasks",
                        json={
                            "title": TITLE,
                            "goal": GOAL,
                            "due_on": f"2026-12-{day}",
                            "responsible_user_id": officer_id,
                        },
                        headers=officer,
                    )
                    assert r.status_code == 201, r.text

                def deliveries(**params: str) -> list[dict[str, Any]]:
                    answer = notify.get("/api/v1/deliveries", params=params, headers=admin)
                    assert answer.status_code == 200, answer.text
                    return list(answer.json())

                # 02:00 WITA: the reminder is planned at once, and waits for 07:00
                (waiting,) = until(lambda: deliveries(status="deferred"))
                assert waiting["trigger"] == "task_due"
                assert waiting["next_attempt_at"].startswith("2026-12-09T23:00:00")  # 07:00 WITA
                assert sms == []
                time.sleep(1.0)  # both replicas run the job some twenty times meanwhile
                assert len(deliveries()) == 1 and sms == []
                clock.set(dt.datetime(2026, 12, 10, 7, 0, 5, tzinfo=WITA))
                until(lambda: sms)
                time.sleep(1.0)  # anything more would arrive by now
                sent = deliveries()
    finally:
        server.stop()
    assert len(sms) == 1, sms
    (message,) = sms
    assert message["msisdn"] == OFFICER_PHONE
    text = message["text"]
    assert text == (
        f"Jejaring: Pengingat: ada tugas kasus {case['reference']} yang jatuh tempo besok "
        f"(11-12-2026). Buka Jejaring: https://jejaring.example/cases/{case['id']}"
    )
    for secret in (TITLE, GOAL, "Sulastri", CHILD_NAME, "fisik", "physical", "Polresta"):
        assert secret.lower() not in text.lower(), secret
    assert [(d["status"], d["recipient_role"], d["channel"]) for d in sent] == [
        ("sent", "officer", "sms")
    ]


@contextmanager
def intake_pair(tmp_path: Path, nats_url: str, clock: ShiftedClock) -> Iterator[TestClient]:
    """Two intake replicas on one database, each running the reminder job every 0.1 s."""
    db = tmp_path / "intake" / "intake.db"
    db.parent.mkdir()
    keys = crypto.generate_line("k1")
    with intake(db, nats_url, clock, keys) as first, intake(db, nats_url, clock, keys):
        yield first
