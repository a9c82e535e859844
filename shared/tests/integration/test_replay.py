"""A dead letter replayed (`jejaring dlq replay`'s function) on a stream two consumers read,
against a real nats-server, on both databases: the consumer that gave up handles it once, the
one that had handled it does not act again, and replaying it twice acts no more."""

from __future__ import annotations

import asyncio
import dataclasses

from jejaring.cli import dlq
from jejaring.shared.messaging.consumer import IdempotentConsumer, PoisonMessage
from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)
from jejaring.testing import until_async

from .test_consumer import CASE, count_effect, effect_count, publish, running

HANDLES = ConsumerSpec(stream="CASES", durable="test-handles", ack_wait_s=1.0)
FAILS = ConsumerSpec(stream="CASES", durable="test-fails", ack_wait_s=1.0)


async def settled(js, spec: ConsumerSpec) -> bool:  # type: ignore[no-untyped-def]
    info = await js.consumer_info(spec.stream, spec.durable)
    return not info.num_pending and not info.num_ack_pending


async def test_a_replay_acts_once_where_it_failed_and_never_twice(plumbing, js) -> None:  # type: ignore[no-untyped-def]
    for spec in contract_streams():
        await ensure_stream(js, spec)
    for spec in (HANDLES, FAILS):
        await ensure_consumer(js, spec)
    broken = True

    async def fails_until_fixed(session, env) -> None:  # type: ignore[no-untyped-def]
        if broken:
            raise PoisonMessage("a bug in this version")
        fixed = env.data.model_copy(update={"reference": "fixed-" + env.data.reference})
        await count_effect(session, dataclasses.replace(env, data=fixed))

    def consumer(spec: ConsumerSpec, handler) -> IdempotentConsumer:  # type: ignore[no-untyped-def]
        return IdempotentConsumer(
            service="test", spec=spec, handler=handler, sessions=plumbing.sessions, js=js
        )

    fixed_key = "fixed-" + CASE.reference
    async with (
        running(consumer(HANDLES, count_effect)),
        running(consumer(FAILS, fails_until_fixed)),
    ):
        await publish(js, CASE)

        async def dead_lettered() -> bool:
            return len(await dlq.dead_letters(js)) == 1

        await until_async(dead_lettered)
        await until_async(lambda: settled(js, HANDLES))
        assert await effect_count(plumbing) == 1
        (letter,) = await dlq.dead_letters(js)
        assert letter.replayable and letter.ce_type == CASE.ce_type

        # under its original Nats-Msg-Id (its ce-id) the stream would drop it: same window
        original = {**letter.replay_headers(), "Nats-Msg-Id": letter.headers["ce-id"]}
        assert (await js.publish(letter.original_subject, letter.body, headers=original)).duplicate

        broken = False
        assert "removed from the DLQ" in await dlq.replay(js, letter)
        assert await dlq.dead_letters(js) == []

        async def handled_after_the_fix() -> bool:
            return await effect_count(plumbing, fixed_key) == 1

        await until_async(handled_after_the_fix)
        await until_async(lambda: settled(js, HANDLES))
        assert await effect_count(plumbing) == 1  # the replay did nothing where it had worked

        # the replay published again (a retry after a lost acknowledgement): JetStream drops it
        again = await js.publish(
            letter.original_subject, letter.body, headers=letter.replay_headers()
        )
        assert again.duplicate
        # another replay of the same event under another id: each inbox skips it
        await js.publish(
            letter.original_subject,
            letter.body,
            headers={**letter.replay_headers(), "Nats-Msg-Id": "another-replay"},
        )
        await until_async(lambda: settled(js, FAILS))
        await until_async(lambda: settled(js, HANDLES))
        await asyncio.sleep(0.2)
        assert (await effect_count(plumbing), await effect_count(plumbing, fixed_key)) == (1, 1)
