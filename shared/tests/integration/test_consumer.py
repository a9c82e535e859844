"""Idempotent consumers, retries and the DLQ against a real nats-server, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jejaring.shared.contract import envelope
from jejaring.shared.contract.envelope import NATS_MSG_ID
from jejaring.shared.messaging.consumer import (
    DLQ_BODY_DROPPED,
    DLQ_REASON,
    DLQ_SUBJECT,
    IdempotentConsumer,
    PoisonMessage,
)
from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)
from jejaring.shared.messaging.tables import inbox
from jejaring.shared.refusals import Conflict
from jejaring.testing import effects, sample_events, until_async

CASE = sample_events()[0]
CONSUMED = "jejaring_events_consumed_total"
DEAD_LETTERED = "jejaring_events_dead_lettered_total"
REDELIVERED = "jejaring_events_redelivered_total"
SPEC = ConsumerSpec(stream="CASES", durable="test-cases", ack_wait_s=1.0)
REOPENED = "org.jejaring.case.reopened.v1"  # a type a later v1 may add; this version knows none


async def count_effect(session, env: envelope.Envelope) -> None:  # type: ignore[no-untyped-def]
    """The handler's one effect: +1 on a counter keyed by the case reference."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(effects).values(key=env.data.reference, count=1)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"count": effects.c.count + 1})
    )


async def effect_count(plumbing, key: str = CASE.reference) -> int:  # type: ignore[no-untyped-def]
    async with plumbing.sessions() as s:
        return int(await s.scalar(select(effects.c.count).where(effects.c.key == key)) or 0)


@pytest.fixture
async def streams(js) -> None:  # type: ignore[no-untyped-def]
    for spec in contract_streams():
        await ensure_stream(js, spec)
    await ensure_consumer(js, SPEC)


@contextlib.asynccontextmanager
async def running(consumer: IdempotentConsumer) -> AsyncIterator[IdempotentConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(js, event=CASE, **headers: str) -> envelope.OutgoingMessage:  # type: ignore[no-untyped-def]
    message = envelope.encode(event, source="/test")
    await js.publish(message.subject, message.body, headers={**message.headers, **headers})
    return message


async def publish_raw(js, subject: str, ce_type: str, body: bytes, ce_id: str) -> None:  # type: ignore[no-untyped-def]
    """A CloudEvent as another producer (a later version, a partner) might send it."""
    headers = {"ce-specversion": "1.0", "ce-id": ce_id, "ce-source": "/newer", "ce-type": ce_type}
    await js.publish(subject, body, headers={**headers, "Nats-Msg-Id": ce_id})


def consumer_for(plumbing, js, handler=count_effect) -> IdempotentConsumer:  # type: ignore[no-untyped-def]
    return IdempotentConsumer(
        service="test",
        spec=SPEC,
        handler=handler,
        sessions=plumbing.sessions,
        js=js,
        max_attempts=3,
    )


def counted(name: str, **labels: str) -> float:
    """A sample of this process's metrics (what /metrics shows), 0 before its first count."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def dlq_messages(js) -> list:  # type: ignore[no-untyped-def]
    sub = await js.pull_subscribe("dlq.v1.>", durable=None, stream="DLQ")
    try:
        return await sub.fetch(10, timeout=1)
    except Exception:
        return []


async def test_a_message_is_handled_once_and_acked(plumbing, js, streams) -> None:
    await publish(js)
    async with running(consumer_for(plumbing, js)) as consumer:
        await until_async(lambda: _eq(effect_count(plumbing), 1))
        await until_async(lambda: _pending_acks(js, 0))
    assert consumer.stats.handled == 1
    assert await dlq_messages(js) == []


async def test_a_redelivered_message_changes_nothing(plumbing, js, streams) -> None:
    message = await publish(js)
    consumer = consumer_for(plumbing, js)
    # First delivery: the effect commits but the ack never reaches JetStream (a crash between
    # commit and ack), so JetStream redelivers after ack-wait.
    sub = await js.pull_subscribe_bind(SPEC.durable, SPEC.stream)
    (first,) = await sub.fetch(1, timeout=5)
    assert await consumer._handle_once(first, envelope.decode(first.headers, first.data))
    assert await effect_count(plumbing) == 1

    # The same event published again after the duplicate window (a new Nats-Msg-Id).
    await js.publish(
        message.subject, message.body, headers={**message.headers, "Nats-Msg-Id": "republished"}
    )
    async with running(consumer):
        await until_async(lambda: _eq(_duplicates(consumer), 2), timeout=20)
        await until_async(lambda: _pending_acks(js, 0))
    assert await effect_count(plumbing) == 1
    assert consumer.stats.handled == 0


async def test_a_poison_message_goes_to_the_dlq_and_the_consumer_keeps_going(
    plumbing, js, streams
) -> None:
    await js.publish("case.v1.created", b"{not json", headers={"ce-id": "x1"})
    invalid = json.loads(envelope.encode(CASE, source="/test").body) | {"violence_forms": []}
    await publish_raw(js, "case.v1.created", CASE.ce_type, json.dumps(invalid).encode(), "x2")
    await publish_raw(js, "case.v1.reopened", REOPENED, b"{not json", "x3")

    async def refuse(session, env):  # type: ignore[no-untyped-def]
        if env.data.version == 99:
            raise PoisonMessage("case version 99 can never be routed")
        await count_effect(session, env)

    await publish(js, CASE.model_copy(update={"version": 99}))
    await publish(js)
    async with running(consumer_for(plumbing, js, refuse)) as consumer:
        await until_async(lambda: _eq(effect_count(plumbing), 1))
        await until_async(lambda: _pending_acks(js, 0))
    dead = await dlq_messages(js)
    reasons = sorted(m.headers[DLQ_REASON] for m in dead)
    assert len(dead) == 4
    assert consumer.stats.dead_lettered == 4
    assert consumer.stats.unknown_types == 0, "data that is not JSON is no event, of any type"
    assert any("missing CloudEvents header 'ce-specversion'" in r for r in reasons)
    assert any(
        "invalid data for org.jejaring.case.created.v1: violence_forms" in r for r in reasons
    )
    assert any(f"data of {REOPENED} is not JSON" in r for r in reasons)
    assert any("case version 99 can never be routed" in r for r in reasons)
    assert {m.headers[DLQ_SUBJECT] for m in dead} == {"case.v1.created", "case.v1.reopened"}
    original = next(m for m in dead if "invalid data" in m.headers[DLQ_REASON])
    assert original.headers["ce-id"] == "x2", "original headers kept"
    assert original.subject == "dlq.v1.test.case.v1.created"


async def test_what_outsiders_wrote_is_dead_lettered_without_its_body(
    plumbing, js, streams, caplog
) -> None:
    """As for partners' replies: the DLQ keeps the reason, the CloudEvents headers cut short
    and the size of the body, not the body (nor any other header the sender made up); the log
    has a line a second per subject, not one per message."""
    invalid = json.loads(envelope.encode(CASE, source="/test").body) | {"violence_forms": []}
    body = json.dumps(invalid).encode()
    for n in range(5):
        headers = {
            "ce-specversion": "1.0",
            "ce-id": f"{n}" + "y" * 5000,
            "ce-source": "/partners/x",
            "ce-type": CASE.ce_type,
            "x-padding": "z" * 20_000,
        }
        await js.publish("case.v1.created", body, headers=headers)
    consumer = consumer_for(plumbing, js)
    consumer.outsiders = True
    dead_before = counted(DEAD_LETTERED, consumer=SPEC.durable, type=CASE.ce_type)
    with caplog.at_level(logging.ERROR, logger="jejaring.shared.messaging.consumer"):
        async with running(consumer):
            await until_async(lambda: _eq(_dead(consumer), 5))
            await until_async(lambda: _pending_acks(js, 0))
    dead = await dlq_messages(js)
    assert len(dead) == 5
    assert not any(m.data for m in dead)
    assert {m.headers[DLQ_BODY_DROPPED] for m in dead} == {str(len(body))}
    assert sorted(m.headers["ce-id"] for m in dead)[0] == "0" + "y" * 199
    assert not any("x-padding" in m.headers for m in dead)
    assert "invalid data for org.jejaring.case.created.v1" in dead[0].headers[DLQ_REASON]
    assert all(len(m.headers[NATS_MSG_ID]) < 300 for m in dead)
    assert [r.getMessage() for r in caplog.records].count("message dead-lettered") == 1
    assert counted(DEAD_LETTERED, consumer=SPEC.durable, type=CASE.ce_type) - dead_before == 5


async def test_a_newer_producers_events_flow_through_without_a_dlq_entry(
    plumbing, js, streams, caplog
) -> None:
    """A field added in a later v1 is ignored and the event handled; an event of a type this
    version does not know is acked and counted, in a batch and alone, and never handled."""
    newer = json.loads(envelope.encode(CASE, source="/test").body)
    newer["reopen_count"] = 2
    newer["victims"][0]["nickname"] = "Wulan"
    await publish_raw(js, CASE.nats_subject(), CASE.ce_type, json.dumps(newer).encode(), "new-1")
    await publish_raw(js, "case.v1.reopened", REOPENED, b'{"note": "Wulan"}', "reopened-1")
    await publish(js, CASE.model_copy(update={"reference": "BPT-2026-000002"}))
    await publish_raw(js, "case.v1.reopened", REOPENED, b'{"note": "Wulan"}', "reopened-2")
    seen: list[envelope.Envelope] = []

    async def record(session, env):  # type: ignore[no-untyped-def]
        seen.append(env)
        await count_effect(session, env)

    consumer = consumer_for(plumbing, js, record)
    with caplog.at_level(logging.INFO, logger="jejaring.shared.messaging.consumer"):
        async with running(consumer):  # one fetch brings all four: the batch path
            await until_async(lambda: _eq(_handled(consumer), 2))
            await until_async(lambda: _pending_acks(js, 0))
        await publish_raw(js, "case.v1.reopened", REOPENED, b"{}", "reopened-3")
        sub = await js.pull_subscribe_bind(SPEC.durable, SPEC.stream)
        (alone,) = await sub.fetch(1, timeout=5)
        await consumer.process(alone)  # the single-message path
        await until_async(lambda: _pending_acks(js, 0))

    assert [await effect_count(plumbing, r) for r in (CASE.reference, "BPT-2026-000002")] == [1, 1]
    assert seen[0].data == CASE, "the added fields are ignored"
    assert {env.type for env in seen} == {CASE.ce_type}, "handlers see known types only"
    assert (consumer.stats.unknown_types, consumer.stats.dead_lettered) == (3, 0)
    assert await dlq_messages(js) == []
    async with plumbing.sessions() as s:
        recorded = set(await s.scalars(select(inbox.c.msg_id)))
    assert not recorded & {"reopened-1", "reopened-2", "reopened-3"}, "no inbox row: no effect"
    skipped = [r for r in caplog.records if getattr(r, "ce_type", None) == REOPENED]
    assert [r.msg_id for r in skipped] == ["reopened-1", "reopened-2", "reopened-3"]
    assert all(r.levelno == logging.INFO for r in skipped)
    assert not any("Wulan" in r.getMessage() + str(r.__dict__) for r in caplog.records)


async def test_a_refusal_by_a_business_rule_is_dead_lettered_at_once_with_its_reason(
    plumbing, js, streams
) -> None:
    async def refuse(session, env):  # type: ignore[no-untyped-def]
        await count_effect(session, env)  # written, then rolled back
        raise Conflict.of("status", "illegal_transition", "Tidak boleh.", "Not allowed now.")

    await publish(js)
    async with running(consumer_for(plumbing, js, refuse)) as consumer:
        await until_async(lambda: _eq(_dead(consumer), 1))
        await until_async(lambda: _pending_acks(js, 0))
    (dead,) = await dlq_messages(js)
    assert dead.headers[DLQ_REASON] == "refused by handler (illegal_transition): Not allowed now."
    assert dead.headers["Jejaring-DLQ-Deliveries"] == "1", "not retried: it would be refused again"
    assert await effect_count(plumbing) == 0
    assert consumer.stats.retried == 0


async def test_a_backlog_is_handled_together_and_one_bad_message_stays_alone(
    plumbing, js, streams
) -> None:
    # Published before the consumer starts: the first fetch brings all 21 at once.
    references = [f"BPT-2026-{n:06d}" for n in range(1, 21)]
    for n, reference in enumerate(references):
        await publish(js, CASE.model_copy(update={"reference": reference}))
        if n == 9:
            await publish(js, CASE.model_copy(update={"reference": "BPT-2026-999999"}))

    async def refuse_one(session, env):  # type: ignore[no-untyped-def]
        await count_effect(session, env)  # written, then rolled back with the batch
        if env.data.reference == "BPT-2026-999999":
            raise PoisonMessage("this case can never be routed")

    async with running(consumer_for(plumbing, js, refuse_one)) as consumer:
        await until_async(lambda: _eq(_dead(consumer), 1))
        await until_async(lambda: _pending_acks(js, 0))
    assert [await effect_count(plumbing, r) for r in references] == [1] * 20
    assert await effect_count(plumbing, "BPT-2026-999999") == 0
    assert consumer.stats.handled == 20
    (dead,) = await dlq_messages(js)
    assert "this case can never be routed" in dead.headers[DLQ_REASON]


async def test_a_lingering_consumer_handles_what_follows_a_message_in_its_transaction(
    plumbing, js, streams
) -> None:
    """A read model's consumer waits `linger` for the events that follow the one it fetched
    (a case's referrals come three at a time) and handles them in one transaction."""
    seen: dict[str, int] = {}
    consumer = consumer_for(plumbing, js, _noting_transactions(seen))
    consumer.linger = 2.0  # the second comes 0.05 s after the first: room for a stall
    references = [f"BPT-2026-00000{n}" for n in (1, 2, 3)]
    async with running(consumer):
        await asyncio.sleep(0.2)  # its fetch waits for the first
        await publish(js, CASE.model_copy(update={"reference": references[0]}))
        await asyncio.sleep(0.05)  # the others come while it lingers
        for reference in references[1:]:
            await publish(js, CASE.model_copy(update={"reference": reference}))
        await until_async(lambda: _eq(_handled(consumer), 3))
        await until_async(lambda: _pending_acks(js, 0))
    # The first is not handled alone, as it would be without lingering. (The last may miss
    # the batch on a loaded machine: nats-py hands over what the server has sent so far.)
    assert seen[references[0]] == seen[references[1]] == 0
    assert [await effect_count(plumbing, r) for r in references] == [1, 1, 1]


def _noting_transactions(seen: dict[str, int]):  # type: ignore[no-untyped-def]
    """A handler that counts the effect and notes which transaction handled each case."""
    transactions = itertools.count()

    async def note(session, env):  # type: ignore[no-untyped-def]
        await count_effect(session, env)
        if "n" not in session.info:
            session.info["n"] = next(transactions)
        seen[env.data.reference] = session.info["n"]

    return note


async def test_a_backlog_behind_the_first_message_shares_its_transaction(
    plumbing, js, streams
) -> None:
    seen: dict[str, int] = {}
    references = [f"BPT-2026-{n:06d}" for n in range(1, 11)]
    for reference in references:  # before the consumer starts: a backlog
        await publish(js, CASE.model_copy(update={"reference": reference}))
    async with running(consumer_for(plumbing, js, _noting_transactions(seen))) as consumer:
        await until_async(lambda: _eq(_handled(consumer), 10))
    assert [seen[r] for r in references] == [0] * 10


async def test_a_backlog_with_repeats_handles_each_event_once(plumbing, js, streams) -> None:
    seen = await publish(js, CASE.model_copy(update={"reference": "BPT-2026-000001"}))
    consumer = consumer_for(plumbing, js)
    sub = await js.pull_subscribe_bind(SPEC.durable, SPEC.stream)
    (first,) = await sub.fetch(1, timeout=5)
    assert await consumer._handle_once(first, envelope.decode(first.headers, first.data))
    await first.ack_sync()
    # One fetch brings: the seen event again, a new one twice, and another new one.
    twice = envelope.encode(CASE.model_copy(update={"reference": "BPT-2026-000002"}), source="/t")
    for message, msg_id in ((seen, "again"), (twice, "twice-1"), (twice, "twice-2")):
        await js.publish(
            message.subject, message.body, headers={**message.headers, "Nats-Msg-Id": msg_id}
        )
    await publish(js, CASE.model_copy(update={"reference": "BPT-2026-000003"}))
    labels = {"consumer": SPEC.durable, "type": CASE.ce_type}
    before = [counted(CONSUMED, **labels, outcome=o) for o in ("handled", "duplicate")]
    async with running(consumer):
        await until_async(lambda: _eq(_duplicates(consumer), 2))
        await until_async(lambda: _pending_acks(js, 0))
    assert [await effect_count(plumbing, f"BPT-2026-00000{n}") for n in (1, 2, 3)] == [1, 1, 1]
    assert consumer.stats.handled == 2
    after = [counted(CONSUMED, **labels, outcome=o) for o in ("handled", "duplicate")]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2], "as /metrics counts"


async def test_a_handler_that_keeps_failing_is_dead_lettered_not_looped_forever(
    plumbing, js, streams
) -> None:
    async def broken(session, env):  # type: ignore[no-untyped-def]
        raise KeyError("a bug")

    await publish(js)
    labels = {"consumer": SPEC.durable, "type": CASE.ce_type}
    before = [counted(REDELIVERED, **labels), counted(DEAD_LETTERED, **labels)]
    async with running(consumer_for(plumbing, js, broken)) as consumer:
        await until_async(lambda: _eq(_dead(consumer), 1), timeout=20)
    (dead,) = await dlq_messages(js)
    assert "gave up after 3 attempts: KeyError" in dead.headers[DLQ_REASON]
    after = [counted(REDELIVERED, **labels), counted(DEAD_LETTERED, **labels)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1], "as /metrics counts"


async def test_a_statement_that_fails_the_same_way_every_time_is_dead_lettered(
    plumbing, js, streams
) -> None:
    """A missing table is no lock to wait out: SQLite reports both as OperationalError, and the
    consumer retries only what a retry can get past."""

    async def missing_table(session, env):  # type: ignore[no-untyped-def]
        await session.execute(text("INSERT INTO no_such_table (n) VALUES (1)"))

    await publish(js)
    async with running(consumer_for(plumbing, js, missing_table)) as consumer:
        await until_async(lambda: _eq(_dead(consumer), 1), timeout=20)
    (dead,) = await dlq_messages(js)
    error = "OperationalError" if plumbing.url.startswith("sqlite") else "ProgrammingError"
    assert f"gave up after 3 attempts: {error}" in dead.headers[DLQ_REASON]


async def test_a_transient_database_error_is_retried_not_dropped(plumbing, js, streams) -> None:
    await publish(js)
    consumer = consumer_for(plumbing, js)
    # Another connection holds the write lock longer than the consumer's lock timeout (300 ms):
    # the consumer's transaction fails for real, and must be retried once the lock is gone.
    async with plumbing.engine.connect() as blocker:
        if plumbing.engine.dialect.name == "postgresql":
            await blocker.execute(text("BEGIN"))
            await blocker.execute(text("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE"))
        else:
            await blocker.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock
        async with running(consumer):
            await until_async(lambda: _ge(_retried(consumer), 1), timeout=20)
            assert await _count_without_lock(plumbing, blocker) == 0
            await blocker.rollback()
            await until_async(lambda: _eq(effect_count(plumbing), 1), timeout=20)
            await until_async(lambda: _pending_acks(js, 0))
    assert consumer.stats.handled == 1
    assert consumer.stats.dead_lettered == 0
    assert consumer.stats.last_error in {"OperationalError", "DBAPIError"}


async def _count_without_lock(plumbing, blocker) -> int:  # type: ignore[no-untyped-def]
    # The blocker's own view: nothing has been written by the consumer yet.
    result = await blocker.execute(select(effects.c.count))
    return len(result.all())


async def _eq(awaitable, expected) -> bool:  # type: ignore[no-untyped-def]
    return (await awaitable) == expected


async def _ge(awaitable, expected) -> bool:  # type: ignore[no-untyped-def]
    return (await awaitable) >= expected


async def _duplicates(consumer: IdempotentConsumer) -> int:
    return consumer.stats.duplicates


async def _handled(consumer: IdempotentConsumer) -> int:
    return consumer.stats.handled


async def _retried(consumer: IdempotentConsumer) -> int:
    return consumer.stats.retried


async def _dead(consumer: IdempotentConsumer) -> int:
    return consumer.stats.dead_lettered


async def _pending_acks(js, expected: int) -> bool:  # type: ignore[no-untyped-def]
    info = await js.consumer_info(SPEC.stream, SPEC.durable)
    return info.num_ack_pending == expected and info.num_pending == expected
