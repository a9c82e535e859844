"""The limits the pipeline is measured against: raw JetStream and raw database rates, and what
one event costs the services' own plumbing before any business rule runs.

Same settings as the services: a file-backed stream with the services' duplicate window and
`Nats-Msg-Id` on every message, a durable pull consumer acked with `ack_sync` one message at a
time (as `IdempotentConsumer` does), and the engine `jejaring.shared.db.create_engine` builds
(SQLite in WAL mode with BEGIN IMMEDIATE; PostgreSQL through asyncpg), one commit per row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats
from nats.js import JetStreamContext
from sqlalchemy import Column, MetaData, String, Table, Text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.shared import db
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import NATS_MSG_ID, Envelope, encode
from jejaring.shared.messaging.consumer import IdempotentConsumer
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.shared.messaging.outbox import Outbox, OutboxRelay
from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    StreamSpec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)
from jejaring.shared.migrate import migrate
from jejaring.testing import sample_events

BODY = b'{"case_reference": "BPT-2026-000001", "service": "legal_aid"}' + b" " * 600


@dataclass
class Limits:
    publish_sequential: float  # messages/s, one publish awaited at a time
    publish_concurrent: float  # messages/s, 50 in flight (as the outbox relay publishes a batch)
    consume_ack_sync: float  # messages/s, fetch 50, ack_sync each
    commits: dict[str, float]  # database kind -> commits/s, one writer
    commits_concurrent: dict[str, float]  # database kind -> commits/s, 8 writers
    plumbing: dict[str, Plumbing]  # database kind -> what an event costs the plumbing
    floor: dict[str, Plumbing]  # the same on the drivers alone (PostgreSQL: asyncpg, nats-py)
    cpu_reference_s: float  # CPU seconds for ten million Python additions: this machine's speed


def cpu_reference() -> float:
    """How fast this CPU runs Python right now (shared virtual machines vary from run to run)."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - started


async def jetstream_rates(tmp: Path, seconds: float) -> tuple[float, float, float]:
    server = NatsServer(store_dir=tmp / "limits-js", log_file=tmp / "limits-nats.log").start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(
            js, StreamSpec("AGENCY_BENCH", ("bench.>",), "raw rate, same settings as partners")
        )
        await ensure_consumer(js, ConsumerSpec("AGENCY_BENCH", "bench"))

        async def publish(n: int) -> None:
            await js.publish("bench.x", BODY, headers={"Nats-Msg-Id": uuid.uuid4().hex})

        started, sent = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            await publish(sent)
            sent += 1
        sequential = sent / (time.perf_counter() - started)

        started, batches = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            await asyncio.gather(*(publish(i) for i in range(50)))
            batches += 1
        concurrent = 50 * batches / (time.perf_counter() - started)

        sub = await js.pull_subscribe_bind("bench", "AGENCY_BENCH")
        started, acked = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            try:
                msgs = await sub.fetch(50, timeout=1)
            except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
                break
            for msg in msgs:
                await msg.ack_sync()
                acked += 1
        consumed = acked / (time.perf_counter() - started)
        await nc.close()
        return sequential, concurrent, consumed
    finally:
        server.stop()


async def commit_rate(url: str, seconds: float, writers: int) -> float:
    engine = db.create_engine(url)
    table = Table(
        "bench_commit",
        MetaData(),
        Column("id", String(36), primary_key=True),
        Column("body", Text),
    )
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
        await conn.run_sync(table.metadata.create_all)
    done = 0
    started = time.perf_counter()

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() - started < seconds:
            async with engine.begin() as conn:
                await conn.execute(table.insert().values(id=str(uuid.uuid4()), body=BODY.decode()))
            done += 1

    await asyncio.gather(*(writer() for _ in range(writers)))
    rate = done / (time.perf_counter() - started)
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
    await engine.dispose()
    return rate


TOGETHER = (1, 10)  # events written in one transaction, or brought by one fetch


@dataclass
class Plumbing:
    """CPU ms of one process per event through the plumbing every service runs, with no
    business rule, by how many events go together (`TOGETHER`). Published: written to the
    outbox in one transaction, published by the relay (PubAck each), rows marked sent.
    Consumed: fetched, recorded in the inbox, a handler that does nothing, commit, ack each."""

    published_ms: dict[int, float]
    consumed_ms: dict[int, float]


async def _plumbing_stream(
    js: JetStreamContext, durable: str
) -> tuple[ConsumerSpec, ev.ReferralStatusChanged]:
    """The stream the plumbing is measured on (referral's events, as the services publish
    them), a durable consumer of it, and the event published."""
    stream = next(s for s in contract_streams() if s.name == subjects.REFERRAL_EVENTS_STREAM)
    await ensure_stream(js, stream)
    spec = ConsumerSpec(stream.name, durable, (subjects.REFERRAL_EVENTS_ALL,))
    await ensure_consumer(js, spec)
    event = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    return spec, event


async def plumbing_cost(tmp: Path, url: str, seconds: float) -> Plumbing:
    server = NatsServer(store_dir=tmp / "plumbing-js", log_file=tmp / "plumbing-nats.log").start()
    engine = db.create_engine(url)
    try:
        versions = tmp / "plumbing-versions"  # the shared branch only: outbox and inbox
        versions.mkdir(parents=True, exist_ok=True)
        await migrate(engine, versions, lock_name="bench-plumbing")
        sessions = db.session_factory(engine)
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        spec, event = await _plumbing_stream(js, "bench-plumbing")
        box = Outbox(source="/jejaring/bench")
        sent = asyncio.Event()

        async def on_sent(_session: AsyncSession, _rows: object) -> None:
            sent.set()

        relay = OutboxRelay(sessions=sessions, js=js, outbox_=box, on_sent=on_sent)
        relaying = asyncio.create_task(relay.run())
        published, written = {}, {}
        for k in TOGETHER:
            written[k], started, cpu = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - started < seconds / len(TOGETHER):
                sent.clear()
                async with sessions() as session, session.begin():
                    for _ in range(k):
                        await box.add(session, event)
                await sent.wait()  # the relay published the transaction's events at once
                written[k] += k
            published[k] = 1000 * (time.process_time() - cpu) / written[k]
        relay.stop()
        await relaying

        async def nothing(_session: AsyncSession, _envelope: Envelope) -> None:
            pass

        sub = await js.pull_subscribe_bind(spec.durable, spec.stream)
        consumed = {}
        for k in TOGETHER:
            consumer = IdempotentConsumer(
                service="bench", spec=spec, handler=nothing, sessions=sessions, js=js, batch=k
            )
            cpu = time.process_time()
            for _ in range(written[k] // k):  # a multiple of k: written k at a time
                await consumer.process_batch(await sub.fetch(k, timeout=5))
            consumed[k] = 1000 * (time.process_time() - cpu) / written[k]
        await nc.close()
        return Plumbing(published, consumed)
    finally:
        await engine.dispose()
        server.stop()


async def driver_floor(tmp: Path, url: str, seconds: float) -> Plumbing:
    """What the plumbing costs an event on the drivers alone, asyncpg and nats-py: the same
    statements, transactions, publishes and acks as `plumbing_cost`, with no SQLAlchemy, no
    CloudEvent encoded or decoded, no trace, log or metric. What no implementation of this
    design in Python can go below at one transaction an event (PostgreSQL only: SQLite's
    driver is the same thread hop under either)."""
    server = NatsServer(store_dir=tmp / "floor-js", log_file=tmp / "floor-nats.log").start()
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        spec, event = await _plumbing_stream(js, "bench-floor")
        message = encode(event, source="/jejaring/bench")

        published, written = {}, {}
        for k in TOGETHER:
            written[k], started, cpu = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - started < seconds / len(TOGETHER):
                rows = []
                for _ in range(k):
                    msg_id = uuid.uuid4().hex
                    headers = {**message.headers, "ce-id": msg_id, NATS_MSG_ID: msg_id}
                    now = dt.datetime.now(dt.UTC)
                    rows.append((msg_id, message.subject, json.dumps(headers), message.body, now))
                async with conn.transaction():  # the service's transaction
                    await conn.executemany(
                        "INSERT INTO outbox (msg_id, subject, headers, body, created_at) "
                        "VALUES ($1, $2, $3, $4, $5)",
                        rows,
                    )
                async with conn.transaction():  # the relay's
                    unsent = await conn.fetch(
                        "SELECT id, msg_id, subject, headers, body FROM outbox "
                        "WHERE sent_at IS NULL ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED"
                    )
                    acks = await asyncio.gather(
                        *(
                            js.publish(r["subject"], r["body"], headers=json.loads(r["headers"]))
                            for r in unsent
                        )
                    )
                    now = dt.datetime.now(dt.UTC)
                    await conn.executemany(
                        "UPDATE outbox SET sent_at = $2, stream_seq = $3 WHERE id = $1",
                        [(r["id"], now, a.seq) for r, a in zip(unsent, acks, strict=True)],
                    )
                written[k] += k
            published[k] = 1000 * (time.process_time() - cpu) / written[k]

        sub = await js.pull_subscribe_bind(spec.durable, spec.stream)
        consumed = {}
        for k in TOGETHER:
            cpu = time.process_time()
            for _ in range(written[k] // k):
                msgs = await sub.fetch(k, timeout=5)
                async with conn.transaction():
                    await conn.fetch(
                        "INSERT INTO inbox (consumer, msg_id, subject, received_at) "
                        "SELECT $1, unnest($2::text[]), unnest($3::text[]), $4 "
                        "ON CONFLICT DO NOTHING RETURNING msg_id",
                        spec.durable,
                        [m.headers[NATS_MSG_ID] for m in msgs],  # type: ignore[index]
                        [m.subject for m in msgs],
                        dt.datetime.now(dt.UTC),
                    )
                for m in msgs:
                    await m.ack_sync()
            consumed[k] = 1000 * (time.process_time() - cpu) / written[k]
        await nc.close()
        return Plumbing(published, consumed)
    finally:
        await conn.close()
        server.stop()


async def measure(tmp: Path, databases: dict[str, str], seconds: float) -> Limits:
    reference = cpu_reference()
    sequential, concurrent, consumed = await jetstream_rates(tmp, seconds)
    commits = {kind: await commit_rate(url, seconds, 1) for kind, url in databases.items()}
    concurrent_commits = {
        kind: await commit_rate(url, seconds, 8) for kind, url in databases.items()
    }
    plumbing = {
        kind: await plumbing_cost(tmp / f"plumbing-{kind}", url, seconds)
        for kind, url in databases.items()
    }
    floor = {
        kind: await driver_floor(tmp / f"floor-{kind}", url, seconds)
        for kind, url in databases.items()
        if kind == "postgresql"
    }
    return Limits(
        sequential, concurrent, consumed, commits, concurrent_commits, plumbing, floor, reference
    )
