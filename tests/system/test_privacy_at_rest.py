"""What `make up` keeps on disk of a victim, and what erasure leaves: the embedded stack as an
operator runs it (`jejaring up`), a case recorded, routed to three partners and alerted, its
case work written (an activity's note, a plan task, an attachment), then every byte under the
data folder scanned (databases with their WAL, the JetStream store, logs, the file outbox of
alerts, the attachments); then erased by the data protection officer."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import nats

from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.testing import THREE_WAY_CASE, until, wait_status

from .conftest import JEJARING

NAME = "Wahyuningsih Kartikasari"
PHONE = "081299887766"
DESCRIPTION = "Dipukul dengan gagang sapu di dapur"
NOTE = "Didampingi ke Polresta oleh kakaknya Bambang"
TASK = "Antar Wahyuni ke RSUD Kanujoso"
DOCUMENT = "KARTU-PKH-6471-0099-KARTIKASARI"
SECRETS = (NAME, PHONE, DESCRIPTION, "SKTM/9-KARTIKA", NOTE, TASK, DOCUMENT)
PARTNER_STREAMS = ("AGENCY_POLRESTA_PPA", "AGENCY_POSBAKUM_AISYIYAH", "AGENCY_BIKKSA_MENTARI")


def found_in(folder: Path) -> list[str]:
    """Each file under `folder` holding any of SECRETS in plaintext (UTF-8, or as JSON writes
    it), with what it holds."""
    needles = {s: [s.encode(), json.dumps(s).encode()] for s in SECRETS}
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [
            f"{path.relative_to(folder)}: {s}"
            for s, ns in needles.items()
            if any(n in data for n in ns)
        ]
    return hits


def user(env: dict[str, str], *args: str) -> str:
    """A person made through intake's admin API; their API token."""
    made = subprocess.run(
        [JEJARING, "user", "add", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


async def stream_messages(env: dict[str, str]) -> dict[str, int]:
    """How many messages each partner stream holds (as the provisioner sees it)."""
    data = Path(env["JEJARING_DATA_DIR"])
    password = json.loads((data / "nats-secrets.json").read_text())["provisioner"]
    nc = await nats.connect(
        f"nats://127.0.0.1:{env['JEJARING_NATS_PORT']}",
        user="svc-provisioner",
        password=password,
        inbox_prefix=inbox_prefix("provisioner"),
    )
    try:
        js = nc.jetstream(timeout=5)
        return {s: (await js.stream_info(s)).state.messages for s in PARTNER_STREAMS}
    finally:
        await nc.close()


def test_nothing_on_disk_names_the_victim_and_erasure_reaches_the_partner_streams(
    stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    assert stack.stdout is not None
    first = stack.stdout.readline()
    assert first.startswith("Jejaring is running"), first
    intake_port = int(stack_env["JEJARING_INTAKE_PORT"])
    wait_status(intake_port, 200, timeout=30)
    intake = f"http://127.0.0.1:{intake_port}/api/v1"
    officer = user(
        stack_env, "--name", "Ibu Wulan", "--role", "officer", "--kelurahan", "64.71.04.1003"
    )
    dpo = user(stack_env, "--name", "Pak Data", "--role", "dpo")

    case: dict[str, Any] = json.loads(json.dumps(THREE_WAY_CASE))
    case["victims"][0].update(name=NAME, phone=PHONE)
    case["description"] = DESCRIPTION
    case["legal_aid_proof"]["number"] = "SKTM/9-KARTIKA"
    as_officer = {"Authorization": f"Bearer {officer}"}
    posted = httpx.post(f"{intake}/cases", json=case, headers=as_officer, timeout=30)
    assert posted.status_code == 201, posted.text
    case_id = posted.json()["id"]

    def requested() -> bool:
        got = httpx.get(f"{intake}/cases/{case_id}", headers=as_officer, timeout=10).json()
        return len([r for r in got["referrals"] if r["status"] == "requested"]) == 3

    until(requested, timeout=60)
    data = Path(stack_env["JEJARING_DATA_DIR"])

    def alerted() -> bool:  # notify has planned the partners' alerts (sent, or after quiet hours)
        with sqlite3.connect(data / "notify.db") as db:
            return bool(db.execute("SELECT count(*) FROM delivery").fetchone()[0])

    until(alerted, timeout=60)
    work = f"{intake}/cases/{case_id}"
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    visit = {"kind": "home_visit", "occurred_on": today, "note": NOTE}
    task = {"title": TASK, "due_on": "2027-03-01", "responsible_partner": "bikksa-mentari"}
    pdf = b"%PDF-1.7\n" + DOCUMENT.encode() + b"\n%%EOF\n"
    for answer in (
        httpx.post(f"{work}/activities", json=visit, headers=as_officer, timeout=10),
        httpx.post(f"{work}/tasks", json=task, headers=as_officer, timeout=10),
        httpx.post(
            f"{work}/attachments",
            data={"kind": "pkh"},
            files={"file": ("pkh.pdf", pdf, "application/pdf")},
            headers=as_officer,
            timeout=10,
        ),
    ):
        assert answer.status_code == 201, answer.text
    assert list((data / "attachments").iterdir()), "the attachment is on disk, sealed"
    time.sleep(2)  # the relays mark their rows, the logs are flushed
    held = asyncio.run(stream_messages(stack_env))
    assert all(n >= 1 for n in held.values()), held  # the partners' requests wait for them

    assert found_in(data) == []
    shown = httpx.get(f"{intake}/cases/{case_id}", headers=as_officer, timeout=10).json()
    assert shown["victims"][0]["name"] == NAME  # the officer still reads it

    erased = httpx.post(
        f"{intake}/cases/{case_id}/erase",
        json={"reason": "subject_request"},
        headers={"Authorization": f"Bearer {dpo}"},
        timeout=30,
    )
    assert erased.status_code == 200, erased.text

    def partner_streams_empty() -> bool:
        return not any(asyncio.run(stream_messages(stack_env)).values())

    until(partner_streams_empty, timeout=60)
    after = httpx.get(f"{intake}/cases/{case_id}", headers=as_officer, timeout=10).json()
    assert after["victims"][0].get("name") in (None, "")
    with sqlite3.connect(data / "intake.db") as db:
        assert db.execute("SELECT count(*) FROM data_key").fetchone() == (0,)
    assert list((data / "attachments").iterdir()) == []  # the sealed file deleted too
    assert found_in(data) == []
