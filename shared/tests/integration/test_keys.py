"""A case's data key asked for over a real nats-server: only the asker can open the answer,
an erased case is answered with no key, and nobody answering is a transient error."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest

from jejaring.shared import crypto
from jejaring.shared.messaging import keys


async def test_the_asker_gets_the_key_and_a_listener_on_the_subject_learns_nothing(
    nc, nats_url: str
) -> None:  # type: ignore[no-untyped-def]
    known = uuid.uuid4()
    data_key = crypto.new_data_key()
    keyring: dict[uuid.UUID, bytes] = {known: data_key}

    async def lookup(case_id: uuid.UUID) -> bytes | None:
        return keyring.get(case_id)

    await keys.serve_keys(nc, lookup)
    spy = await nats.connect(nats_url, name="spy")
    seen: list[bytes] = []

    async def listen(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg.data)

    await spy.subscribe(">", cb=listen)
    asker = await nats.connect(nats_url, name="asker")
    try:
        client = keys.KeyClient(asker, ttl=0.0)
        assert await client.get(known) == data_key
        assert await client.get(uuid.uuid4()) is None
        del keyring[known]  # erased
        assert await client.get(known) is None
        await asyncio.sleep(0.1)
        assert seen, "the spy saw the traffic"
        encoded = crypto._b64(data_key).encode()
        assert all(data_key not in data and encoded not in data for data in seen)
    finally:
        await spy.close()
        await asker.close()


async def test_a_cached_key_is_used_until_forgotten(nc, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    case = uuid.uuid4()
    asked: list[uuid.UUID] = []

    async def lookup(case_id: uuid.UUID) -> bytes | None:
        asked.append(case_id)
        return b"k" * 32

    await keys.serve_keys(nc, lookup)
    client = keys.KeyClient(nc, ttl=60.0)
    await client.get(case)
    await client.get(case)
    assert asked == [case]
    client.forget(case)
    await client.get(case)
    assert asked == [case, case]


async def test_nobody_answering_is_a_transient_error(nc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(keys.KeysUnavailable):
        await keys.KeyClient(nc, timeout=0.5).get(uuid.uuid4())
