"""The transactional outbox against a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest
from sqlalchemy import func, select

from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.shared.messaging.outbox import Outbox, OutboxRelay
from jejaring.shared.messaging.provision import StreamSpec, ensure_stream
from jejaring.shared.messaging.tables import outbox
from jejaring.testing import sample_events

PG_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]
CHILD = Path(__file__).with_name("relay_child.py")
CASE_EVENT = sample_events()[0]  # CaseCreated, on case.v1.created


async def _cases_stream(js) -> str:  # type: ignore[no-untyped-def]
    await ensure_stream(js, StreamSpec("CASES", ("case.v1.>",), "test"))
    return "CASES"


async def _stream_messages(js, stream: str) -> int:  # type: ignore[no-untyped-def]
    return (await js.stream_info(stream)).state.messages


async def _unsent(plumbing) -> int:  # type: ignore[no-untyped-def]
    async with plumbing.sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )
        )


async def _write_events(plumbing, box: Outbox, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    async with plumbing.sessions() as session, session.begin():
        for _ in range(n):
            ids.append((await box.add(session, CASE_EVENT)).msg_id)
    return ids


async def test_an_event_is_published_only_when_its_transaction_commits(plumbing, js) -> None:
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    with pytest.raises(RuntimeError, match="rolled back"):
        async with plumbing.sessions() as session, session.begin():
            await box.add(session, CASE_EVENT)
            raise RuntimeError("rolled back")
    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box)
    assert await relay.relay_once() == 0
    await _write_events(plumbing, box, 1)
    assert await relay.relay_once() == 1
    assert await _stream_messages(js, stream) == 1
    assert await _unsent(plumbing) == 0


async def test_a_rolled_back_transaction_drops_its_events_and_the_next_keeps_their_order(
    plumbing, js
) -> None:
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    async with plumbing.sessions() as session:
        with pytest.raises(RuntimeError, match="rolled back"):
            async with session.begin():
                await box.add(session, CASE_EVENT, event_id="dropped")
                raise RuntimeError("rolled back")
        async with session.begin():
            kept = [
                (await box.add(session, CASE_EVENT, event_id=f"kept-{i}")).msg_id for i in range(5)
            ]
    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box)
    assert await relay.relay_once() == 5
    published = [(await js.get_msg(stream, seq)).headers["Nats-Msg-Id"] for seq in range(1, 6)]
    assert published == kept == [f"kept-{i}" for i in range(5)]


async def test_published_exactly_once_when_relay_dies_between_puback_and_marking_sent(
    plumbing, js, nats_url: str
) -> None:
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    ids = await _write_events(plumbing, box, 3)

    child = subprocess.run(
        [sys.executable, str(CHILD), plumbing.url, nats_url], capture_output=True, timeout=60
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    # The PubAcks came back, so the stream holds the events, but the rows are still unsent.
    assert await _stream_messages(js, stream) == 3
    assert await _unsent(plumbing) == 3

    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box)
    assert await relay.relay_once() == 3
    assert await _unsent(plumbing) == 0
    assert await _stream_messages(js, stream) == 3, "the re-publish must be dropped as duplicate"
    sub = await js.pull_subscribe("case.v1.>", durable="check", stream=stream)
    msgs = await sub.fetch(10, timeout=2)
    assert sorted(m.headers["Nats-Msg-Id"] for m in msgs) == sorted(ids)


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(plumbing, js) -> None:
    await _cases_stream(js)
    box = Outbox(source="/test")
    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, poll_interval=60)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)  # the relay is now waiting for its 60 s poll
        sub = await js.subscribe("case.v1.>")
        started = time.monotonic()
        await _write_events(plumbing, box, 1)
        msg = await sub.next_msg(timeout=10)
        waited = time.monotonic() - started
        assert msg.headers["ce-type"] == CASE_EVENT.ce_type
        assert waited < 30, "woken by the commit, not by the 60 s poll"
    finally:
        task.cancel()


@pytest.mark.parametrize("database_url", PG_ONLY, indirect=True)
async def test_two_relays_share_the_outbox_without_publishing_a_row_twice(plumbing, js) -> None:
    """PostgreSQL: relay replicas claim rows with FOR UPDATE SKIP LOCKED (SQLite runs one)."""
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    for _ in range(5):
        await _write_events(plumbing, box, 60)
    relays = [
        OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, batch_size=25) for _ in range(2)
    ]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.relay_once():
            pass

    await asyncio.gather(*(drain(r) for r in relays))
    assert await _unsent(plumbing) == 0
    assert await _stream_messages(js, stream) == 300
    assert sum(r.published for r in relays) == 300, "no row may be published by both relays"


async def test_a_nats_outage_only_grows_the_outbox(plumbing, nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream(timeout=2)
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, poll_interval=0.2)
    task = asyncio.create_task(relay.run())
    try:
        await _write_events(plumbing, box, 5)
        await _wait_for(lambda: _unsent(plumbing), 0)

        nats_server.kill()
        written = await _write_events(plumbing, box, 20)  # the service keeps accepting work
        await asyncio.sleep(1.0)
        assert await _unsent(plumbing) == 20

        nats_server.start()  # same port, same JetStream directory
        await _wait_for(lambda: _unsent(plumbing), 0, timeout=30)
        assert await _stream_messages(js, stream) == 25
        assert len(set(written)) == 20
    finally:
        task.cancel()
        await nc.close()


async def _wait_for(probe, expected, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await probe()
        if value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected}, still {value} after {timeout} s")


async def test_on_sent_gets_each_rows_stream_sequence_in_the_marking_transaction(
    plumbing, js
) -> None:
    """The hook a service records where its messages landed with: the (Nats-Msg-Id, sequence)
    JetStream acknowledged, and a hook that fails leaves the rows unsent (same transaction)."""
    stream = await _cases_stream(js)
    box = Outbox(source="/test")
    ids = await _write_events(plumbing, box, 3)
    seen: list[tuple[str, int]] = []

    async def failing(session, sent) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("hook failed")

    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, on_sent=failing)
    with pytest.raises(RuntimeError, match="hook failed"):
        await relay.relay_once()
    assert await _unsent(plumbing) == 3  # not marked sent: published again, deduplicated

    async def record(session, sent) -> None:  # type: ignore[no-untyped-def]
        assert session.in_transaction()
        seen.extend(sent)

    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, on_sent=record)
    assert await relay.relay_once() == 3
    assert await _unsent(plumbing) == 0
    assert [msg_id for msg_id, _ in seen] == ids
    for msg_id, seq in seen:
        assert (await js.get_msg(stream, seq)).headers["Nats-Msg-Id"] == msg_id
