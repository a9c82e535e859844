"""`jejaring dlq` against the real system (secured NATS, the three services, their databases),
run as an operator would: the CLI as a process, as the NATS operator identity.

A bug in referral (a database trigger that refuses every referral) makes it give up on a case:
the case lands in the DLQ; `list` and `show` describe it without personal data; after the fix
`replay` makes referral handle it exactly once (its referrals, partner messages and alerts,
each once), and the same event arriving once more changes nothing. A poison message replayed
before any fix comes back to the DLQ (not lost to the DLQ's duplicate window); `discard`
removes it and records who, why and which event. The services prune inbox rows past the
dedupe horizon and keep the newer ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import nats
from sqlalchemy import text
from tests.system.conftest import READER, READER_PASSWORD, System

from jejaring.cli import natsconfig
from jejaring.shared import db
from jejaring.shared.messaging.inbox import dedupe_horizon
from jejaring.testing import VICTIM_NAME, until

CASE_CREATED = "org.jejaring.case.created.v1"
OPERATOR_PASSWORD = f"{natsconfig.OPERATOR}-nats-password-0001"  # as secured_system makes it
# What must never be printed: the victim's name and the case's offence details.
PERSONAL = (VICTIM_NAME, "physical", "household", "spouse", "Siti Poison")

BUG = {
    "sqlite": [
        "CREATE TRIGGER routing_bug BEFORE INSERT ON referral "
        "BEGIN SELECT RAISE(ABORT, 'routing bug'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION routing_bug() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'routing bug'; END $$",
        "CREATE TRIGGER routing_bug BEFORE INSERT ON referral "
        "FOR EACH ROW EXECUTE FUNCTION routing_bug()",
    ],
}
FIX = {
    "sqlite": ["DROP TRIGGER routing_bug"],
    "postgresql": ["DROP TRIGGER routing_bug ON referral", "DROP FUNCTION routing_bug()"],
}


def execute(s: System, name: str, statements: list[str], **params: Any) -> None:
    async def go() -> None:
        engine = db.create_engine(s.dbs[name])
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement), params)
        finally:
            await engine.dispose()

    asyncio.run(go())


def kind(s: System) -> str:
    return "postgresql" if s.dbs["referral"].startswith("postgresql") else "sqlite"


def dlq(s: System, *args: str, ok: bool = True) -> str:
    """`jejaring dlq ARGS` as a process, as the operator; its stdout (and stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "jejaring.cli.main", "dlq", *args],
        env={
            **os.environ,
            "JEJARING_NATS_URL": s.nats.url,
            "NATS_OPERATOR_PASSWORD": OPERATOR_PASSWORD,
            "JEJARING_DATA_DIR": str(s.tmp / "no-embedded-stack"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=s.tmp,
    )
    assert (result.returncode == 0) == ok, (result.returncode, result.stdout, result.stderr)
    return result.stdout + result.stderr


def listed(s: System, *args: str) -> list[str]:
    return [line for line in dlq(s, "list", *args).splitlines() if "body=" in line]


def publish_poison(s: System, ce_id: str) -> None:
    """A case.v1.created from intake's identity whose data is not a case (a producer's bug),
    with a victim's name in it."""

    async def go() -> None:
        nc = await nats.connect(
            s.nats.url,
            user=natsconfig.service_user("intake"),
            password=s.credentials[natsconfig.service_user("intake")],
            inbox_prefix="_INBOX_intake",
        )
        try:
            await nc.jetstream().publish(
                "case.v1.created",
                json.dumps({"victims": [{"name": "Siti Poison"}]}).encode(),
                headers={
                    "ce-specversion": "1.0",
                    "ce-id": ce_id,
                    "ce-source": "/jejaring/intake",
                    "ce-type": CASE_CREATED,
                    "ce-time": dt.datetime.now(dt.UTC).isoformat(),
                    "content-type": "application/json",
                    "Nats-Msg-Id": ce_id,
                },
            )
        finally:
            await nc.close()

    asyncio.run(go())


async def acked_by_referral(s: System, seq: int) -> bool:
    """Whether referral's consumer of CASES has acknowledged everything up to `seq`."""
    reader = await nats.connect(s.nats.url, user=READER, password=READER_PASSWORD)
    try:
        info = await reader.jetstream().consumer_info("CASES", "referral-cases")
    finally:
        await reader.close()
    return bool(info.ack_floor and info.ack_floor.stream_seq >= seq and not info.num_ack_pending)


async def republish_case(s: System, ce_id: str) -> int:
    """The replayed case event (read back from CASES by the test's reader) published again by
    the operator under another Nats-Msg-Id, as a second replay of it would be."""
    reader = await nats.connect(s.nats.url, user=READER, password=READER_PASSWORD)
    try:
        js = reader.jetstream()
        msg = await js.get_msg("CASES", (await js.stream_info("CASES")).state.last_seq)
    finally:
        await reader.close()
    assert msg.headers and msg.headers["ce-id"] == ce_id and msg.subject and msg.data
    nc = await nats.connect(
        s.nats.url,
        user=natsconfig.service_user(natsconfig.OPERATOR),
        password=OPERATOR_PASSWORD,
        inbox_prefix="_INBOX_operator",
    )
    try:
        headers = {**msg.headers, "Nats-Msg-Id": f"{ce_id}:second-replay"}
        ack = await nc.jetstream().publish(msg.subject, msg.data, headers=headers)
        assert not ack.duplicate
        return ack.seq
    finally:
        await nc.close()


def in_dlq(s: System) -> list[Any]:
    """The DLQ's messages, as the test's reader sees them."""
    return asyncio.run(s._stream("DLQ"))


def rows(s: System, name: str, sql: str) -> list[Any]:
    return asyncio.run(s._rows(name, sql))


def test_dead_letters_listed_replayed_once_after_the_fix_discarded_and_inboxes_pruned(
    secured_system: System,
) -> None:
    s = secured_system
    # the dead letters of referral's bug and of one poison, as the operator meets them: report
    # (which reads CASES too, and would dead-letter the poison as well) is not running
    s.kill("report")
    old = dt.datetime.now(dt.UTC) - dedupe_horizon() - dt.timedelta(hours=1)
    recent = dt.datetime.now(dt.UTC) - dedupe_horizon() + dt.timedelta(days=1)
    for msg_id, when in (("old-event", old), ("recent-event", recent)):
        execute(
            s,
            "notify",
            [
                "INSERT INTO inbox (consumer, msg_id, subject, received_at) "
                "VALUES ('notify-referral-events', :id, 'referral.v1.event.requested', :at)"
            ],
            id=msg_id,
            at=when,
        )
    execute(s, "referral", BUG[kind(s)])

    # the bug: referral gives up on the case after its attempts; the poison goes at once
    s.post_cases(1)
    poison_id = str(uuid.uuid4())
    publish_poison(s, poison_id)
    until(lambda: len(in_dlq(s)) == 2, timeout=120)
    lines = listed(s)
    out = dlq(s, "list") + dlq(s, "list", "--type", CASE_CREATED)
    for secret in PERSONAL:
        assert secret not in out
    gave_up = next(line for line in lines if "gave up after 8 attempts" in line)
    invalid = next(line for line in lines if "invalid data" in line)
    for line in (gave_up, invalid):
        assert CASE_CREATED in line and "referral/referral-cases" in line and "body=kept" in line
    assert "attempts=8" in gave_up and ("IntegrityError" in gave_up or "DBAPIError" in gave_up)
    assert "attempts=1" in invalid and "victims.0" in invalid  # field paths, never values
    seq, poison_seq = int(gave_up.split()[0]), int(invalid.split()[0])

    shown = dlq(s, "show", str(seq))
    for secret in PERSONAL:
        assert secret not in shown
    (case_id,) = (row.id for row in rows(s, "intake", "SELECT id FROM case_record"))
    assert f"case id:           {uuid.UUID(str(case_id))}" in shown
    assert "original subject:  case.v1.created" in shown and "replayable:        yes" in shown
    ce_id = next(line.split()[-1] for line in shown.splitlines() if line.startswith("event id"))
    assert rows(s, "referral", f"SELECT * FROM inbox WHERE msg_id = '{ce_id}'") == []

    # replayed before a fix, the poison is dead-lettered again (a new sequence), not lost
    assert f"dead letter {poison_seq} replayed as CASES" in dlq(s, "replay", str(poison_seq))
    until(lambda: len(in_dlq(s)) == 2, timeout=30)
    again = [line for line in listed(s) if "invalid data" in line]
    poison_seq = int(again[0].split()[0])
    assert poison_seq > seq
    # discarded with a reason: gone from the list, in the record with who, why and which event
    assert "reason" in dlq(s, "discard", str(poison_seq), ok=False)  # --reason is required
    dlq(s, "discard", str(poison_seq), "--reason", "producer bug #12, fixed", "--by", "ops-rina")
    assert [line for line in listed(s) if "invalid data" in line] == []
    (record,) = dlq(s, "discarded").splitlines()
    assert "by ops-rina" in record and "reason: producer bug #12, fixed" in record
    assert f"dead letter {poison_seq}" in record and poison_id in record and CASE_CREATED in record
    assert "no dead letter" in dlq(s, "show", str(poison_seq), ok=False)

    # the fix, then the replay: referral routes the case once, the partners and alerts follow
    execute(s, "referral", FIX[kind(s)])
    replayed = dlq(s, "replay", "--type", CASE_CREATED, "--all")
    assert f"dead letter {seq} replayed as CASES" in replayed
    assert listed(s) == []
    figures = s.converge(expected_dlq=1)  # the discard record
    counts = (figures.cases, figures.referrals_found, figures.notifications, figures.duplicates)
    assert counts == (1, 3, 3, 0)
    assert len(rows(s, "referral", f"SELECT * FROM inbox WHERE msg_id = '{ce_id}'")) == 1
    assert "no dead letter" in dlq(s, "replay", str(seq), ok=False)

    # the same event once more (a second replay: another consumer's dead letter of it, or two
    # operators at once): every consumer skips it by its id
    sent = rows(s, "notify", "SELECT id FROM delivery")
    referrals = rows(s, "referral", "SELECT id FROM referral")
    stored = rows(s, "intake", "SELECT id FROM case_record")
    seq_again = asyncio.run(republish_case(s, ce_id))
    until(lambda: asyncio.run(acked_by_referral(s, seq_again)), timeout=30)
    figures = s.converge(expected_dlq=1)
    counts_after = (
        figures.cases,
        figures.referrals_found,
        figures.notifications,
        figures.duplicates,
    )
    assert counts_after == counts
    assert rows(s, "notify", "SELECT id FROM delivery") == sent
    assert rows(s, "referral", "SELECT id FROM referral") == referrals
    assert rows(s, "intake", "SELECT id FROM case_record") == stored

    # pruning (30 s after start, then hourly; the test is past that): the old row is gone, the
    # recent one kept
    pruned = rows(s, "notify", "SELECT msg_id FROM inbox WHERE msg_id LIKE '%-event'")
    assert [r.msg_id for r in pruned] == ["recent-event"]
