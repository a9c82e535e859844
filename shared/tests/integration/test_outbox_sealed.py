"""Outbox rows stored sealed (the `seal=` option) against a real nats-server, on SQLite and
PostgreSQL: opened just before publishing, dropped when their key is gone, waiting in order
while the key source does not answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jejaring.shared import crypto
from jejaring.shared.contract.envelope import decode
from jejaring.shared.messaging.keys import KeysUnavailable
from jejaring.shared.messaging.outbox import SEALED_WITH, Outbox, OutboxRelay
from jejaring.shared.messaging.provision import StreamSpec, ensure_stream
from jejaring.shared.messaging.tables import outbox
from jejaring.testing import CHILD_NAME, sample_events

CASE_EVENT = sample_events()[0]  # CaseCreated: a child's name in the clear


async def test_sealed_rows_rest_sealed_and_are_published_open_dropped_or_held_in_order(
    plumbing, js
) -> None:
    await ensure_stream(js, StreamSpec("CASES", ("case.v1.>",), "test"))
    keys = {"c1": crypto.new_data_key(), "c3": crypto.new_data_key()}
    down = {"c3"}
    asked: list[str] = []

    async def key_source(kid: str) -> bytes | None:
        asked.append(kid)
        if kid in down:
            raise KeysUnavailable("keyring down")
        return keys.get(kid)  # "c2": erased

    box = Outbox(source="/test")
    written = []
    async with plumbing.sessions() as session, session.begin():
        for name, seal in [
            ("plain-a", None),
            ("sealed-b", ("c1", keys["c1"])),
            ("plain-c", None),
            ("erased-d", ("c2", crypto.new_data_key())),
            ("waiting-e", ("c3", keys["c3"])),
            ("plain-f", None),
        ]:
            written.append((name, (await box.add(session, CASE_EVENT, seal=seal)).msg_id))
    ids = dict(written)

    async with plumbing.sessions() as s:
        rows = {r.msg_id: r for r in (await s.execute(select(outbox))).all()}
    for name in ("sealed-b", "erased-d", "waiting-e"):
        row = rows[ids[name]]
        assert row.body.startswith(b"s1.") and CHILD_NAME.encode() not in row.body
        assert SEALED_WITH in row.headers
    assert CHILD_NAME.encode() in rows[ids["plain-a"]].body  # an unsealed row is as before

    relay = OutboxRelay(sessions=plumbing.sessions, js=js, outbox_=box, keys=key_source)
    with pytest.raises(KeysUnavailable):  # reported, so the relay backs off and retries
        await relay.relay_once()

    async def on_stream() -> list[str]:
        info = await js.stream_info("CASES")
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            m = await js.get_msg("CASES", seq)
            assert SEALED_WITH not in (m.headers or {})
            event = decode(m.headers, m.data, nats_subject=m.subject)
            assert event.data == CASE_EVENT, "published as it was written, opened"
            out.append(event.id)
        return out

    assert await on_stream() == [ids["plain-a"], ids["sealed-b"], ids["plain-c"]]
    async with plumbing.sessions() as s:
        left = {r.msg_id: r.sent_at for r in (await s.execute(select(outbox))).all()}
    assert ids["erased-d"] not in left, "a row whose key is gone is deleted unpublished"
    assert left[ids["waiting-e"]] is None and left[ids["plain-f"]] is None, "they wait, in order"

    down.clear()  # the keyring is back
    assert await relay.relay_once() == 2
    assert await on_stream() == [
        ids[n] for n in ("plain-a", "sealed-b", "plain-c", "waiting-e", "plain-f")
    ]
