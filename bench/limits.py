"""The limits the pipeline is measured against: raw JetStream and raw database rates.

Same settings as the services: a file-backed stream with the services' duplicate window and
`Nats-Msg-Id` on every message, a durable pull consumer acked with `ack_sync` one message at a
time (as `IdempotentConsumer` does), and the engine `jejaring.shared.db.create_engine` builds
(SQLite in WAL mode with BEGIN IMMEDIATE; PostgreSQL through asyncpg), one commit per row.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nats
from sqlalchemy import Column, MetaData, String, Table, Text

from jejaring.shared import db
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    StreamSpec,
    ensure_consumer,
    ensure_stream,
)

BODY = b'{"case_reference": "BPT-2026-000001", "service": "legal_aid"}' + b" " * 600


@dataclass
class Limits:
    publish_sequential: float  # messages/s, one publish awaited at a time
    publish_concurrent: float  # messages/s, 50 in flight (as the outbox relay publishes a batch)
    consume_ack_sync: float  # messages/s, fetch 50, ack_sync each
    commits: dict[str, float]  # database kind -> commits/s, one writer
    commits_concurrent: dict[str, float]  # database kind -> commits/s, 8 writers
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


async def measure(tmp: Path, databases: dict[str, str], seconds: float) -> Limits:
    reference = cpu_reference()
    sequential, concurrent, consumed = await jetstream_rates(tmp, seconds)
    commits = {kind: await commit_rate(url, seconds, 1) for kind, url in databases.items()}
    concurrent_commits = {
        kind: await commit_rate(url, seconds, 8) for kind, url in databases.items()
    }
    return Limits(sequential, concurrent, consumed, commits, concurrent_commits, reference)
