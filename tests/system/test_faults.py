"""Nothing lost, nothing twice: the three services and nats-server as real processes, a burst of
cases, one fault per test. After the fault, within a bounded time: every committed case has
exactly one referral per expected (service, partner); each partner stream holds exactly those
requests, no Nats-Msg-Id twice; every expected notification is in the delivery log once; the DLQ
holds only what the test put there; every outbox is empty (the invariants: conftest.py here).

PostgreSQL when JEJARING_TEST_DATABASE_URL is set (as in CI), SQLite files otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import subprocess
import time
import uuid

import nats
import pytest

from jejaring.shared.contract import envelope
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import PartnerReplied
from jejaring.shared.messaging.natsserver import free_port


def test_intake_killed_after_commit_before_publish(system) -> None:
    system.kill("intake")
    system.start("intake", INTAKE_NATS_URL=f"nats://127.0.0.1:{free_port()}")  # cannot publish
    system.wait_healthy("intake")
    system.post_cases(10)
    system.kill("intake")  # the cases are committed, their events never left the outbox
    system.start("intake")
    system.wait_ready("intake")
    figures = system.converge()
    assert figures.cases == 10


def test_referral_killed_mid_burst(system) -> None:
    burst = system.burst_in_background(30)
    time.sleep(0.5)
    system.kill("referral")
    time.sleep(1)
    system.start("referral")
    burst.join()
    assert system.converge().cases == 30


def test_relay_killed_after_puback_before_marking_sent(system) -> None:
    system.kill("referral")
    system.start("referral", JEJARING_FAULT="kill-relay-after-puback")
    system.post_cases(5)
    deadline = time.monotonic() + 30
    while system.procs["referral"].poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert system.procs["referral"].returncode == -signal.SIGKILL, "the fault did not fire"
    system.start("referral")
    assert system.converge().duplicates == 0


def test_nats_killed_mid_burst(system) -> None:
    burst = system.burst_in_background(30)
    time.sleep(0.5)
    system.nats.kill()
    time.sleep(1)
    system.nats.start()  # same port, same JetStream directory
    burst.join()
    assert system.converge().cases == 30


def test_nats_stopped_for_15_seconds(system) -> None:
    burst = system.burst_in_background(20, pause=0.1)
    time.sleep(0.5)
    system.nats.kill(signal.SIGSTOP)
    time.sleep(15)
    system.nats.kill(signal.SIGCONT)
    burst.join()
    assert system.converge(timeout=120).cases == 20


@pytest.mark.exclusive  # every other test's PostgreSQL stops too
@pytest.mark.skipif(
    not shutil.which("pg_ctlcluster"), reason="needs the machine's PostgreSQL cluster"
)
def test_postgresql_stopped_for_10_seconds(system) -> None:
    if not system.dbs["intake"].startswith("postgresql"):
        pytest.skip("runs on PostgreSQL (JEJARING_TEST_DATABASE_URL)")
    cluster = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True
    ).stdout.split()
    version, name = cluster[0], cluster[1]
    # The machine's PostgreSQL keeps the machine's clock when scripts/at-wita moves the tests'.
    machine = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    burst = system.burst_in_background(30, pause=0.1)
    time.sleep(0.5)
    subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "immediate"], check=True)
    time.sleep(10)
    subprocess.run(["pg_ctlcluster", version, name, "start"], check=True, env=machine)
    burst.join()
    assert system.converge(timeout=120).cases == 30


def test_a_poison_message_goes_to_the_dlq_and_everything_else_flows(system) -> None:
    async def poison() -> None:
        nc = await nats.connect(system.nats.url)
        await nc.jetstream().publish(
            "case.v1.created", b"{not a case", headers={"Nats-Msg-Id": "poison-1"}
        )
        await nc.close()

    burst = system.burst_in_background(10)
    asyncio.run(poison())
    burst.join()
    # referral and report each read CASES: each dead-letters the poison once (dlq.v1.<service>)
    assert system.converge(expected_dlq=2).cases == 10


def test_a_partner_accepting_twice_and_one_answering_for_another(system) -> None:
    system.post_cases(2)
    system.converge()

    async def answer() -> None:
        nc = await nats.connect(system.nats.url)
        js = nc.jetstream()
        msg = (await system._stream("AGENCY_POSBAKUM_AISYIYAH"))[0]
        referral = uuid.UUID(msg.headers["ce-subject"])
        for slug in ("posbakum-aisyiyah", "posbakum-aisyiyah", "polresta-ppa"):
            reply = PartnerReplied(
                referral_id=referral,
                partner_slug=slug,
                status=ReferralStatus.ACCEPTED,
                replied_at=dt.datetime.now(dt.UTC),
            )
            m = envelope.encode(reply, source=f"/partners/{slug}")
            await js.publish(m.subject, m.body, headers=m.headers)
        await nc.close()

    asyncio.run(answer())
    system.converge(expected_dlq=1)  # the answer for a referral the partner does not hold
    rows = asyncio.run(
        system._rows(
            "referral",
            "SELECT status, sequence FROM referral WHERE partner_slug = 'posbakum-aisyiyah' AND status = 'accepted'",
        )
    )
    assert [(r.status, r.sequence) for r in rows] == [("accepted", 2)], "accepted once"


def test_a_request_lost_from_a_partner_stream_is_restored(system) -> None:
    system.post_cases(3)
    system.converge()

    async def lose_one() -> None:
        nc = await nats.connect(system.nats.url)
        js = nc.jetstream()
        info = await js.stream_info("AGENCY_POSBAKUM_AISYIYAH")
        await js.delete_msg("AGENCY_POSBAKUM_AISYIYAH", info.state.first_seq)  # an acked write lost
        await nc.close()

    asyncio.run(lose_one())
    assert isinstance(asyncio.run(system.check(0)), str), "the loss is visible"
    assert system.converge(timeout=60).duplicates == 0


def test_a_handler_slower_than_the_ack_wait(system) -> None:
    system.kill("referral")
    system.start(
        "referral", JEJARING_FAULT="slow-handler"
    )  # 15 s for the first case, ack-wait 10 s
    system.post_cases(3)
    figures = system.converge(timeout=90)
    assert figures.duplicates == 0
    assert figures.seconds_to_converge > 10, "the slow handler really ran past the ack-wait"
