"""Retention on a real nats-server with intake and referral running: a partner's stream holds a
request only until the partner has it; a request cancelled before the partner fetched it is
taken off the stream and never reaches the partner; one it fetched is followed by the
cancellation; stream repair restores only what was lost; a closed case keeps no name."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from jejaring.intake.app import create_app as create_intake
from jejaring.intake.settings import IntakeSettings
from jejaring.referral import repair
from jejaring.referral.app import create_app as create_referral
from jejaring.referral.facts import Deps
from jejaring.referral.models import Referral
from jejaring.referral.settings import ReferralSettings
from jejaring.shared import db
from jejaring.shared.contract import subjects
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.region import load_region
from jejaring.testing import until

ADMIN = "admin-token-for-tests-0123456789"
ADMIN_H = {"Authorization": f"Bearer {ADMIN}"}
VICTIM = "Siti Rahmawati"
CASE: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical", "psychological"],
    "description": "Dipukul suami di dapur",
    "risk_level": "medium",
    "reporter": {"kind": "neighbour"},
    "victims": [
        {
            "name": VICTIM,
            "sex": "female",
            "age": 34,
            "safe_to_contact": True,
            "phone": "081233334444",
            "address": "Jl. Mawar 7",
        }
    ],
    "perpetrator": {"relationship": "spouse", "sex": "male"},
    "needs": ["law_enforcement", "legal_aid", "counselling"],
    "consent": {
        "given_by": "victim",
        "scope": ["police", "legal_aid", "counselling", "government"],
    },
    "legal_aid_proof": {"kind": "sktm", "number": "SKTM/7"},
}
POLICE, LEGAL_AID, COUNSELLING = "polresta-ppa", "posbakum-aisyiyah", "bikksa-mentari"


@dataclass
class Loop:
    intake: TestClient
    nats_url: str
    referral_db: str
    officer: dict[str, str]

    def call(self, fn, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        return asyncio.run(fn(*args, **kwargs))

    def new_case(self) -> str:
        r = self.intake.post("/api/v1/cases", json=CASE, headers=self.officer)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        engine = create_async_engine(self.referral_db)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        finally:
            await engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        return self.call(self._rows, sql, **params)

    def referral(self, case_id: str, slug: str) -> Referral | None:
        async def work() -> Referral | None:
            engine = db.create_engine(self.referral_db)
            try:
                async with db.session_factory(engine)() as session:
                    return await session.scalar(
                        select(Referral).where(
                            Referral.case_id == uuid.UUID(case_id), Referral.partner_slug == slug
                        )
                    )
            finally:
                await engine.dispose()

        return self.call(work)

    def published(self, case_id: str) -> dict[str, Any]:
        """The case's three referrals, once JetStream acknowledged each request (the relay
        recorded its stream sequence)."""

        def ready() -> dict[str, Any] | None:
            refs = {s: self.referral(case_id, s) for s in (POLICE, LEGAL_AID, COUNSELLING)}
            return refs if all(r and r.request_seq for r in refs.values()) else None

        return dict(until(ready))

    def settled(self) -> bool:
        """No cancellation waits to be settled against a partner's stream."""
        return not self.rows("SELECT referral_id FROM request_forget")

    def fetch(self, slug: str, *, ack: bool = True) -> list[tuple[str, str]]:
        """What the partner's durable consumer delivers now: (event type, referral id)."""

        async def work() -> list[tuple[str, str]]:
            nc = await nats.connect(self.nats_url)
            try:
                js = nc.jetstream()
                sub = await js.pull_subscribe_bind(
                    subjects.check_slug(slug), stream=subjects.agency_stream(slug)
                )
                try:
                    msgs = await sub.fetch(20, timeout=1)
                except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
                    return []
                for m in msgs:
                    if ack:
                        await m.ack_sync()
                return [(m.headers["ce-type"], m.headers["ce-subject"]) for m in msgs]
            finally:
                await nc.close()

        return self.call(work)

    def held(self, slug: str) -> list[tuple[str, str]]:
        """What the partner's stream holds: (event type, referral id)."""

        async def work() -> list[tuple[str, str]]:
            nc = await nats.connect(self.nats_url)
            try:
                js = nc.jetstream()
                stream = subjects.agency_stream(slug)
                info = await js.stream_info(stream)
                out = []
                for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
                    try:
                        m = await js.get_msg(stream, seq)
                    except nats.js.errors.NotFoundError:
                        continue
                    assert m.headers is not None
                    out.append((m.headers["ce-type"], m.headers["ce-subject"]))
                return out
            finally:
                await nc.close()

        return self.call(work)


@pytest.fixture
def loop(service_dbs: dict[str, str], nats_url: str, tmp_path: Path) -> Iterator[Loop]:
    common = {"nats_url": nats_url, "data_dir": tmp_path, "admin_token": ADMIN}
    intake = create_intake(IntakeSettings(**common, database_url=service_dbs["intake"]))
    referral = create_referral(
        ReferralSettings(**common, database_url=service_dbs["referral"], forget_interval_s=0.2)
    )
    with TestClient(intake) as i, TestClient(referral) as r:
        until(lambda: i.get("/readyz").status_code == 200 and r.get("/readyz").status_code == 200)
        user = i.post(
            "/api/v1/users",
            json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": "64.71.04.1003"},
            headers=ADMIN_H,
        ).json()
        yield Loop(
            i, nats_url, service_dbs["referral"], {"Authorization": f"Bearer {user['token']}"}
        )


REQUESTED = "org.jejaring.referral.requested.v1"
CANCELLED = "org.jejaring.referral.cancelled.v1"
UPDATED = "org.jejaring.referral.updated.v1"


def test_consent_withdrawn_before_the_partner_fetches_and_it_never_receives_the_request(
    loop: Loop,
) -> None:
    case_id = loop.new_case()
    refs = loop.published(case_id)
    legal = str(refs[LEGAL_AID].id)
    assert (REQUESTED, legal) in loop.held(LEGAL_AID)
    # a lower risk: each partner's stream gets an update, with its view of the case too
    r = loop.intake.patch(
        f"/api/v1/cases/{case_id}", json={"risk_level": "low"}, headers=loop.officer
    )
    assert r.status_code == 200, r.text
    until(lambda: loop.held(LEGAL_AID) == [(REQUESTED, legal), (UPDATED, legal)])

    scope = ["police", "counselling", "government"]  # legal aid withdrawn
    r = loop.intake.patch(
        f"/api/v1/cases/{case_id}",
        json={"consent": {**CASE["consent"], "scope": scope}},
        headers=loop.officer,
    )
    assert r.status_code == 200, r.text
    until(
        lambda: getattr(loop.referral(case_id, LEGAL_AID), "status", None) == "cancelled"
        and loop.settled()
    )

    assert loop.held(LEGAL_AID) == []  # request and update off the stream, no cancellation
    assert loop.fetch(LEGAL_AID) == []  # the partner's consumer never receives anything
    # the other partners still get theirs
    police = str(refs[POLICE].id)
    assert loop.fetch(POLICE) == [(REQUESTED, police), (UPDATED, police)]


def test_closing_the_case_cancels_what_partners_fetched_and_removes_what_they_did_not(
    loop: Loop,
) -> None:
    case_id = loop.new_case()
    refs = loop.published(case_id)
    police, legal = (str(refs[s].id) for s in (POLICE, LEGAL_AID))
    assert loop.fetch(POLICE) == [(REQUESTED, police)]  # fetched and acknowledged
    assert loop.held(POLICE) == []  # interest retention: the acknowledgement removed it
    assert loop.fetch(LEGAL_AID, ack=False) == [(REQUESTED, legal)]  # fetched, not acked
    assert loop.held(LEGAL_AID) == [(REQUESTED, legal)]  # kept until acknowledged
    # the counselling partner has not fetched its request

    r = loop.intake.post(
        f"/api/v1/cases/{case_id}/close", json={"outcome": "resolved"}, headers=loop.officer
    )
    assert r.status_code == 200, r.text
    until(
        lambda: getattr(loop.referral(case_id, COUNSELLING), "status", None) == "cancelled"
        and loop.settled()
    )

    until(lambda: loop.fetch(POLICE) == [(CANCELLED, police)])
    until(lambda: (CANCELLED, legal) in loop.held(LEGAL_AID))
    assert loop.held(COUNSELLING) == []
    assert loop.fetch(COUNSELLING) == []  # never heard of the case

    # referral keeps only what the loop needs of the closed case
    ((snapshot,),) = loop.rows("SELECT snapshot FROM case_state")
    text_ = str(snapshot)
    for personal in (VICTIM, "081233334444", "Jl. Mawar 7", "Dipukul", "SKTM/7"):
        assert personal not in text_, personal
    assert "64.71.04.1003" in text_ and "law_enforcement" in text_  # codes stay


async def _repair(loop: Loop) -> int:
    engine = db.create_engine(loop.referral_db)
    nc = await nats.connect(loop.nats_url)
    try:
        deps = Deps(outbox=Outbox(source="/jejaring/referral"), region=load_region())
        async with db.session_factory(engine)() as session:
            return await repair.repair_streams(
                session, js=nc.jetstream(), deps=deps, clock=lambda: dt.datetime.now(dt.UTC)
            )
    finally:
        await nc.close()
        await engine.dispose()


async def lose(loop: Loop, slug: str, seq: int) -> None:
    """An acknowledged write the partner's stream lost, not yet delivered."""
    nc = await nats.connect(loop.nats_url)
    try:
        await nc.jetstream().delete_msg(subjects.agency_stream(slug), seq)
    finally:
        await nc.close()


def test_stream_repair_restores_a_lost_request_and_not_one_the_partner_fetched(
    loop: Loop,
) -> None:
    case_id = loop.new_case()
    refs = loop.published(case_id)
    police, counselling = str(refs[POLICE].id), str(refs[COUNSELLING].id)
    assert loop.fetch(POLICE) == [(REQUESTED, police)]  # fetched and acked: gone by design
    assert loop.held(POLICE) == []

    loop.call(lose, loop, COUNSELLING, refs[COUNSELLING].request_seq)
    assert loop.held(COUNSELLING) == []

    assert loop.call(_repair, loop) == 1  # the lost one only
    until(lambda: loop.held(COUNSELLING) == [(REQUESTED, counselling)])
    assert loop.fetch(COUNSELLING) == [(REQUESTED, counselling)]
    until(
        lambda: getattr(loop.referral(case_id, COUNSELLING), "request_seq", None)
    )  # its new sequence
    assert loop.call(_repair, loop) == 0  # now fetched and acked: not lost
    assert loop.held(POLICE) == [] and loop.fetch(POLICE) == []  # never published again


def test_stream_repair_finds_a_request_lost_between_two_the_stream_still_holds(
    loop: Loop,
) -> None:
    refs = [loop.published(loop.new_case())[COUNSELLING] for _ in range(3)]
    kept = {(REQUESTED, str(r.id)) for r in refs}
    loop.call(lose, loop, COUNSELLING, refs[1].request_seq)  # a gap, not the first or last
    assert set(loop.held(COUNSELLING)) == kept - {(REQUESTED, str(refs[1].id))}

    assert loop.call(_repair, loop) == 1  # the lost one only, of the nine unfetched requests
    until(lambda: set(loop.held(COUNSELLING)) == kept)
    assert sorted(loop.fetch(COUNSELLING)) == sorted(kept), "each once"
