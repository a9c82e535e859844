"""Sealed cases in referral (issue 16, item 4), on a real nats-server and a real database: the
case's data key asked for over NATS (intake's part played by `serve_keys` with a dict), partner
requests sealed in the outbox and in the clear on the partner's stream, the key service down,
erasure."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import delete, select, text

from jejaring.referral import repair
from jejaring.referral.app import create_runtime
from jejaring.referral.facts import Deps
from jejaring.referral.models import CaseState, Referral
from jejaring.referral.settings import ReferralSettings
from jejaring.shared import crypto
from jejaring.shared.contract import envelope, personal, subjects
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Service
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.keys import KEYS_SUBJECT, serve_keys
from jejaring.shared.messaging.outbox import SEALED_WITH, OutboxRelay
from jejaring.shared.messaging.runtime import ServiceRuntime
from jejaring.shared.messaging.tables import outbox
from jejaring.shared.region import load_region
from jejaring.testing import CHILD_NAME, case_snapshot_fields
from jejaring.testing import until_async as _until_async

PHONE = "081234567890"
ADDRESS = "Jl. Mayjen Sutoyo RT 12"
POLICE = "polresta-ppa"
NEEDS = (Service.LAW_ENFORCEMENT, Service.LEGAL_AID, Service.COUNSELLING)
# Most waits read a partner's stream over NATS: five reads a second, and up to 30 s of them.
until_async = functools.partial(_until_async, timeout=30.0, every=0.2)


@dataclass
class Referral_:
    runtime: ServiceRuntime
    nc: NATS
    js: JetStreamContext
    ring: dict[uuid.UUID, bytes] = field(default_factory=dict)
    asked: list[uuid.UUID] = field(default_factory=list)

    async def serve(self) -> Any:
        """Intake's keyring, played by the shared `serve_keys` with a dict."""

        async def lookup(case_id: uuid.UUID) -> bytes | None:
            self.asked.append(case_id)
            return self.ring.get(case_id)

        return await serve_keys(self.nc, lookup)

    def sealed_case(self, **changes: Any) -> ev.CaseCreated:
        """A case as intake publishes it now: personal fields sealed with its own key."""
        case = ev.CaseCreated(**{**case_snapshot_fields(), "needs": NEEDS, **changes})  # type: ignore[arg-type]
        key = crypto.new_data_key()
        self.ring[case.case_id] = key
        concealed = personal.conceal(case, key)
        assert concealed.victims[0].name is None and concealed.sealed
        return concealed

    async def publish(self, event: ev.Event) -> None:
        msg = envelope.encode(event, source="/jejaring/intake")
        await self.js.publish(msg.subject, msg.body, headers=msg.headers)

    async def stream(self, slug: str) -> list[tuple[str, ev.Event]]:
        """(subject, event) of every message on a partner's stream."""
        out = []
        info = await self.js.stream_info(subjects.agency_stream(slug))
        if not info.state.messages:
            return out
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                m = await self.js.get_msg(subjects.agency_stream(slug), seq)
            except nats.js.errors.NotFoundError:
                continue
            out.append((m.subject, envelope.decode(m.headers, m.data, nats_subject=m.subject).data))
        return out

    async def referrals(self, case_id: uuid.UUID) -> list[Referral]:
        async with self.runtime.sessions() as s:
            return list(
                (await s.scalars(select(Referral).where(Referral.case_id == case_id))).all()
            )

    async def dead_letters(self) -> int:
        info = await self.js.stream_info(subjects.DLQ_STREAM)
        return int(info.state.messages)


@pytest.fixture
async def referral(
    service_dbs: dict[str, str], nats_url: str, tmp_path: Path
) -> AsyncIterator[Referral_]:
    settings = ReferralSettings(
        nats_url=nats_url, data_dir=tmp_path, database_url=service_dbs["referral"]
    )
    runtime = create_runtime(settings)
    await runtime.start()
    nc = await nats.connect(nats_url)
    try:
        await until_async(lambda: asyncio.sleep(0, runtime.provisioned))
        yield Referral_(runtime, nc, nc.jetstream())
    finally:
        await nc.close()
        await runtime.stop()


def _files(database_url: str) -> list[Path]:
    path = Path(database_url.split("///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


async def test_a_sealed_case_reaches_the_police_with_the_name_and_rests_sealed(
    referral: Referral_, service_dbs: dict[str, str]
) -> None:
    await referral.serve()
    case = referral.sealed_case()
    await referral.publish(case)

    requests = await until_async(lambda: _requests(referral, POLICE, case.reference), timeout=20)
    view = requests[0].case
    assert view.victims[0].name == CHILD_NAME, "R6: the police read the victim's name"
    assert (
        view.victims[0].address == ADDRESS and view.description and CHILD_NAME in view.description
    )
    assert view.victims[0].phone is None, "not safe to contact: the phone is withheld, as before"
    counselling = await until_async(lambda: _requests(referral, "bikksa-mentari", case.reference))
    assert counselling[0].case.description is None, "R6 still applies to the revealed case"
    assert referral.asked.count(case.case_id) >= 1

    async with referral.runtime.sessions() as s:
        state = await s.get(CaseState, case.case_id)
        assert state is not None and state.snapshot["sealed"] == case.sealed
        assert state.snapshot["victims"][0]["name"] is None
        rows = (await s.execute(select(outbox.c.headers, outbox.c.body))).all()
    sealed_rows = [r for r in rows if SEALED_WITH in r.headers]
    assert len(sealed_rows) == len(await referral.referrals(case.case_id)), "each request's row"
    assert all(r.body.startswith(b"s1.") for r in sealed_rows)
    assert not [r for r in rows if CHILD_NAME.encode() in r.body]

    if not service_dbs["referral"].startswith("sqlite"):
        return
    await referral.runtime.stop()  # whatever the pool held is written to the files
    files = _files(service_dbs["referral"])
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in (CHILD_NAME, PHONE, ADDRESS, "dipukul oleh ayahnya", "PKH-001"):
            assert secret.encode() not in data, f"{secret!r} in the clear in {path.name}"


async def _requests(referral: Referral_, slug: str, reference: str) -> list[ev.ReferralRequested]:
    return [
        e
        for _, e in await referral.stream(slug)
        if isinstance(e, ev.ReferralRequested) and e.case_reference == reference
    ]


async def _never_answer(msg: Msg) -> None:
    pass


async def test_the_key_service_down_delays_the_case_and_loses_nothing(
    referral: Referral_,
) -> None:
    consumer = next(c for c in referral.runtime.consumers if c.spec.durable == "referral-cases")
    consumer.max_attempts = 2  # an error not counted transient would be dead-lettered at once
    # intake hangs: its keyring takes the requests and never answers (each ask times out after
    # 2 s; with no subscriber at all NATS would answer "no responders" at once)
    hung = await referral.nc.subscribe(KEYS_SUBJECT, queue="keyring", cb=_never_answer)
    case = referral.sealed_case()
    await referral.publish(case)
    waits = []
    started = time.monotonic()
    while time.monotonic() - started < 6:  # three key timeouts (2 s each) at least
        t = time.monotonic()
        async with referral.runtime.sessions() as s, s.begin():
            await s.execute(text("UPDATE partner SET active = active"))
        waits.append(time.monotonic() - t)
        await asyncio.sleep(0.1)
    assert await referral.referrals(case.case_id) == []
    assert consumer.stats.retried >= 2, "the case was tried and put back, not dropped"
    assert consumer.stats.dead_lettered == 0
    # A lock held over a key fetch would hold up the writes of every fetch (2 s each); one slow
    # write alone is this machine stalling the process, not a lock.
    slow = [round(w, 2) for w in waits if w >= 1.0]
    assert len(slow) <= 1, f"writes waited {slow} s: a lock was held on a key fetch"

    await hung.unsubscribe()
    await referral.serve()  # intake is back
    requests = await until_async(lambda: _requests(referral, POLICE, case.reference), timeout=40)
    assert requests[0].case.victims[0].name == CHILD_NAME
    await asyncio.sleep(1)
    rows = await referral.referrals(case.case_id)
    assert len(rows) >= len(NEEDS)
    on_streams = [
        r.referral_id
        for slug in {row.partner_slug for row in rows}
        for r in await _requests(referral, slug, case.reference)
    ]
    assert sorted(on_streams) == sorted(row.id for row in rows), "each request once, none lost"
    assert consumer.stats.dead_lettered == 0 and await referral.dead_letters() == 0


async def test_erasure_strips_the_case_cancels_its_referrals_and_drops_a_waiting_request(
    referral: Referral_,
) -> None:
    await referral.serve()
    routed = referral.sealed_case()
    await referral.publish(routed)
    await until_async(lambda: _requests(referral, POLICE, routed.reference))
    expected = len(await referral.referrals(routed.case_id))

    # the relay stops: the next case's requests wait in the outbox, sealed
    relay = referral.runtime.relay
    assert relay is not None
    relay.stop()
    await asyncio.sleep(1.5)
    waiting = referral.sealed_case(reference="BPT-2026-000999")
    await referral.publish(waiting)

    async def all_routed() -> bool:
        return len(await referral.referrals(waiting.case_id)) == expected

    await until_async(all_routed)

    erased_at = routed.reported_at
    for case in (routed, waiting):  # intake deletes the key, then tells
        del referral.ring[case.case_id]
        await referral.publish(
            ev.CaseErased(
                case_id=case.case_id, reference=case.reference, erased_at=erased_at, why="erasure"
            )
        )

    async def cancelled() -> bool:
        rows = [
            *await referral.referrals(routed.case_id),
            *await referral.referrals(waiting.case_id),
        ]
        return all(r.status == "cancelled" and r.reason == "case erased" for r in rows)

    await until_async(cancelled)
    async with referral.runtime.sessions() as s:
        for case in (routed, waiting):
            state = await s.get(CaseState, case.case_id)
            assert state is not None and state.status == "erased"
            assert state.snapshot.get("sealed") is None
            assert all(
                v.get(f) is None
                for v in state.snapshot["victims"]
                for f in ("name", "phone", "address", "birth_date", "disability")
            )
            assert state.snapshot.get("description") is None

    restarted = OutboxRelay(
        sessions=referral.runtime.sessions,
        js=referral.runtime.js,  # type: ignore[arg-type]
        outbox_=referral.runtime.outbox,
        keys=referral.runtime.outbox_keys,
    )
    task = asyncio.create_task(restarted.run())
    try:

        async def drained() -> bool:
            async with referral.runtime.sessions() as s:
                unsent = (
                    await s.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None)))
                ).all()
            return not unsent

        await until_async(drained)
        for r in await referral.referrals(waiting.case_id):  # JetStream never acked it
            assert r.request_seq is None
            async with referral.runtime.sessions() as s:
                row = await s.execute(
                    select(outbox.c.id).where(outbox.c.msg_id == r.request_msg_id)
                )
                assert row.first() is None, "the sealed request was dropped, not kept"

        async def no_request_left() -> bool:  # the routed one unfetched: taken off (retention)
            for slug in (POLICE, "posbakum-aisyiyah", "bikksa-mentari"):
                for _, e in await referral.stream(slug):
                    if isinstance(e, ev.ReferralRequested) and e.case_reference in (
                        routed.reference,
                        waiting.reference,
                    ):
                        return False
            return True

        await until_async(no_request_left)
    finally:
        restarted.stop()
        await task


async def test_stream_repair_redrives_a_sealed_request(referral: Referral_) -> None:
    """Once by copying the sealed outbox row, once (the row pruned) by building the request
    again from the sealed snapshot, its key fetched outside the transaction."""
    await referral.serve()
    case = referral.sealed_case()
    await referral.publish(case)
    lost = (await until_async(lambda: _requests(referral, POLICE, case.reference)))[0]
    stream = subjects.agency_stream(POLICE)
    deps = Deps(
        outbox=referral.runtime.outbox, region=load_region(), keys=CaseKeys(lambda: referral.nc)
    )

    async def acked() -> bool:
        async with referral.runtime.sessions() as s:
            r = await s.get(Referral, lost.referral_id)
            return r is not None and r.request_seq is not None

    for pruned in (False, True):
        await until_async(acked)
        info = await referral.js.stream_info(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                m = await referral.js.get_msg(stream, seq)
                if str(lost.referral_id) in m.data.decode():
                    await referral.js.delete_msg(stream, seq)  # a broker lost an acked write
        on_stream = {r.referral_id for r in await _requests(referral, POLICE, case.reference)}
        assert lost.referral_id not in on_stream
        if pruned:
            async with referral.runtime.sessions() as s, s.begin():
                await s.execute(delete(outbox).where(outbox.c.subject.like("%.to.%")))

        async with referral.runtime.sessions() as s:
            assert referral.runtime.js is not None
            repaired = await repair.repair_streams(
                s, js=referral.runtime.js, deps=deps, clock=lambda: dt.datetime.now(dt.UTC)
            )
        assert repaired == 1

        async def back() -> list[ev.ReferralRequested]:
            requests = await _requests(referral, POLICE, case.reference)
            return [r for r in requests if r.referral_id == lost.referral_id]

        (again,) = await until_async(back)
        assert again.case.victims[0].name == CHILD_NAME, "the re-driven request is readable"
    async with referral.runtime.sessions() as s:
        rows = (await s.execute(select(outbox.c.headers, outbox.c.body))).all()
    assert not [r for r in rows if CHILD_NAME.encode() in r.body], "the rebuilt row is sealed"


async def test_the_reconciler_fetches_a_key_outside_its_transaction_and_routes(
    referral: Referral_,
) -> None:
    await referral.serve()
    case = referral.sealed_case()
    await referral.publish(case)
    await until_async(lambda: _requests(referral, "posbakum-aisyiyah", case.reference))
    async with referral.runtime.sessions() as s, s.begin():  # a referral went missing
        await s.execute(
            delete(Referral).where(
                Referral.case_id == case.case_id, Referral.service == Service.LEGAL_AID.value
            )
        )

    keys = CaseKeys(lambda: referral.nc)  # holds no key yet: the first run needs one
    deps = Deps(outbox=referral.runtime.outbox, region=load_region(), keys=keys)
    asked_before = referral.asked.count(case.case_id)
    async with referral.runtime.sessions() as s:
        created = await keys.run(
            s, lambda t: repair.reconcile(t, deps=deps, now=dt.datetime.now(dt.UTC))
        )
    assert created == 1
    assert referral.asked.count(case.case_id) == asked_before + 1, "fetched once, then routed"

    async def requested_twice() -> list[ev.ReferralRequested]:
        found = await _requests(referral, "posbakum-aisyiyah", case.reference)
        return found if len(found) == 2 else []

    again = (await until_async(requested_twice))[1]
    assert again.case.victims[0].name == CHILD_NAME
