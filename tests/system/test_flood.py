"""One partner floods REPLIES at full speed for 20 s, from its own process and with its own NATS
user, with valid-looking replies and junk. Meanwhile urgent cases are recorded for a kelurahan
whose police referral goes to another partner. That partner receives them in their normal
latency (measured first without the flood): all but one within twice the median without it
plus 1 s, and none later than 5 s. REPLIES never holds more than its limits, the store stays
far from full, every earlier case and referral is still there, another partner's reply still
goes through, and the flooding partner is told no once it is past its bound.

Real processes throughout: nats-server with the generated users and permissions, the three
services, the flooding partner (flood_partner.py here). PostgreSQL when configured, SQLite files
otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.errors import TimeoutError as NatsTimeout

from jejaring.cli import natsconfig
from jejaring.shared.contract import envelope, subjects
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import PartnerReplied
from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.shared.messaging.provision import STREAM_LIMITS
from jejaring.testing import THREE_WAY_CASE, THREE_WAY_REFERRALS

FLOODER, TARGET, BYSTANDER = "posbakum-aisyiyah", "polresta-ppa", "bikksa-mentari"
URGENT_CASE = {
    **THREE_WAY_CASE,
    "risk_level": "high",
    "needs": ["law_enforcement"],
    "consent": {"given_by": "victim", "scope": ["police"]},
}
FLOOD_S = 20.0
STALL_S = 5.0  # no urgent referral waits longer, even the one a stall of the machine holds up
REPLIES = STREAM_LIMITS[subjects.REPLIES_STREAM]
NOT_HELD = "a partner answered for a referral it does not hold"


def norm(value: Any) -> uuid.UUID:
    """An id as SQLite (hex) or PostgreSQL (dashed) gives it."""
    return uuid.UUID(str(value))


async def connect(system: Any, user: str, inbox: str = "_INBOX") -> Any:
    """A connection as one of the generated NATS users."""
    secret = system.credentials[user]
    if user.startswith("partner-"):  # a partner logs in with its NKey seed
        return await nats.connect(
            system.nats.url, nkeys_seed_str=secret, inbox_prefix=inbox, name=user
        )
    return await nats.connect(
        system.nats.url, user=user, password=secret, inbox_prefix=inbox, name=user
    )


async def as_partner(system: Any, slug: str) -> Any:
    return await connect(system, f"partner-{slug}", natsconfig.partner_inbox(slug))


class Arrivals:
    """The referral requests partner TARGET pulls from its stream, by case reference, with the
    moment each arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.fetched: set[str] = set()  # referral ids: gone from the stream once acked
        self.stop = asyncio.Event()

    async def run(self, nc: Any) -> None:
        js = nc.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind(TARGET, subjects.agency_stream(TARGET))
        while not self.stop.is_set():
            try:
                msgs = await sub.fetch(10, timeout=0.5)
            except (TimeoutError, NatsTimeout):
                continue
            now = time.monotonic()
            for msg in msgs:
                if msg.subject.endswith(".requested"):
                    request = json.loads(msg.data)
                    self.at.setdefault(request["case_reference"], now)
                    self.fetched.add(norm(request["referral_id"]))
                await msg.ack()

    async def latency(self, intake: httpx.AsyncClient) -> float:
        """Record an urgent case; the seconds until TARGET holds its referral."""
        started = time.monotonic()
        r = await intake.post(
            "/api/v1/cases", json=URGENT_CASE, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert r.status_code == 201, r.text
        reference = r.json()["reference"]
        while reference not in self.at:
            assert time.monotonic() - started < 30, f"urgent case {reference} never arrived"
            await asyncio.sleep(0.005)
        return self.at[reference] - started


async def accepted(system: Any, referral: str, timeout: float = 60) -> float:
    """Seconds until referral has applied the partner's acceptance of `referral`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = await system._rows("referral", "SELECT id, status FROM referral")
        if any(norm(r.id) == uuid.UUID(referral) and r.status == "accepted" for r in rows):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return float("inf")


async def reply(js: Any, slug: str, referral: str) -> Any:
    m = envelope.encode(
        PartnerReplied(
            referral_id=uuid.UUID(referral),
            partner_slug=slug,
            status=ReferralStatus.ACCEPTED,
            replied_at=dt.datetime.now(dt.UTC),
        ),
        source=f"/partners/{slug}",
    )
    return await js.publish(m.subject, m.body, headers=m.headers)


async def test_a_partner_flooding_replies_delays_no_one_elses_urgent_referral(
    secured_system: Any,
) -> None:
    system = secured_system
    system.post_cases(3)  # earlier cases: one referral each for police, legal aid, counselling
    referral = await connect(system, natsconfig.service_user("referral"), inbox_prefix("referral"))
    rjs = referral.jetstream(timeout=5)
    arrivals = Arrivals()
    target = await as_partner(system, TARGET)
    watcher = asyncio.create_task(arrivals.run(target))
    intake = httpx.AsyncClient(base_url=system.url("intake"), headers=system.officer, timeout=10)

    # normal latency (the median of five): urgent cases one after the other, nothing else
    await asyncio.sleep(1)
    normal = [await arrivals.latency(intake) for _ in range(5)]

    refs = await system._rows("referral", "SELECT id, partner_slug FROM referral")
    by_partner: dict[str, list[str]] = {}
    for r in refs:
        by_partner.setdefault(r.partner_slug, []).append(str(norm(r.id)))
    flooder = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).parent / "flood_partner.py"),
        json.dumps(
            {
                "url": system.nats.url,
                "seed": system.credentials[f"partner-{FLOODER}"],
                "inbox": natsconfig.partner_inbox(FLOODER),
                "slug": FLOODER,
                "own": by_partner[FLOODER],
                "others": by_partner[TARGET] + by_partner[BYSTANDER],
                "seconds": FLOOD_S,
            }
        ),
        stdout=asyncio.subprocess.PIPE,
    )
    flood_started = time.monotonic()
    samples: list[tuple[int, int, int, int]] = []

    async def sample() -> None:
        async with httpx.AsyncClient() as monitor:
            while flooder.returncode is None:
                state = (await rjs.stream_info(subjects.REPLIES_STREAM)).state
                jsz = (await monitor.get(f"http://127.0.0.1:{system.nats.monitor_port}/jsz")).json()
                samples.append(
                    (state.bytes, state.messages, jsz["storage"], jsz["config"]["max_storage"])
                )
                await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    await asyncio.sleep(3)
    # another partner answers in the middle of the flood: accepted, not refused
    bystander = await as_partner(system, BYSTANDER)
    bystander_reply = await reply(
        bystander.jetstream(timeout=5), BYSTANDER, by_partner[BYSTANDER][0]
    )
    assert bystander_reply.stream == subjects.REPLIES_STREAM
    bystander_applied = asyncio.create_task(accepted(system, by_partner[BYSTANDER][0], 30))
    flooded = []
    while time.monotonic() - flood_started < FLOOD_S - 3:
        flooded.append(await arrivals.latency(intake))
        await asyncio.sleep(2)
    out, _ = await flooder.communicate()
    await sampler
    flood = json.loads(out)
    outcomes: Counter[str] = Counter(flood["outcomes"])
    consumer = await rjs.consumer_info(subjects.REPLIES_STREAM, "referral-replies")
    handled = consumer.ack_floor.stream_seq  # replies referral had worked off by then
    bound = 2 * statistics.median(normal) + 1.0
    print(
        f"\n  urgent case -> {TARGET}'s stream: normal {', '.join(f'{x:.3f}' for x in normal)} s;"
        f" under the flood {', '.join(f'{x:.3f}' for x in flooded)} s (bound {bound:.3f} s)"
        f"\n  {BYSTANDER}'s reply during the flood applied after {await bystander_applied:.2f} s"
        f"\n  flood from {FLOODER}: {sum(outcomes.values())} publishes in {flood['seconds']:.1f} s:"
        f" {json.dumps(dict(sorted(outcomes.items())), indent=4)}"
        f"\n  REPLIES at most {max(s[0] for s in samples)} bytes / {max(s[1] for s in samples)}"
        f" messages (limits {REPLIES.max_bytes} / {REPLIES.max_msgs}, {REPLIES.per_subject} per"
        f" subject); referral handled {handled} replies during the flood"
        f" ({handled / flood['seconds']:.0f}/s)"
        f"\n  store: at most {max(s[2] for s in samples)} bytes of {samples[0][3]}"
    )

    drain_started = time.monotonic()
    while True:
        backlog = await rjs.consumer_info(subjects.REPLIES_STREAM, "referral-replies")
        if not backlog.num_pending and not backlog.num_ack_pending:
            break
        assert time.monotonic() - drain_started < 30, f"referral is {backlog.num_pending} behind"
        await asyncio.sleep(0.2)
    print(f"  referral worked off the rest {time.monotonic() - drain_started:.1f} s after it")
    arrivals.stop.set()
    await watcher

    # another partner's reply went through, not stuck behind the flood
    assert await bystander_applied <= 5
    # the urgent referrals went through in their normal time: all but one within the bound, and
    # that one within STALL_S (this machine, shared with the other tests, stalls a process for up
    # to a second now and then, flood or not: docs/decisions.md, "Referral under a flood")
    assert len(flooded) >= 3
    assert sorted(flooded)[-2] <= bound
    assert max(flooded) <= STALL_S
    # REPLIES within its limits: the flooder's backlog stops at its per-subject bound
    assert max(s[0] for s in samples) <= REPLIES.max_bytes
    assert max(s[1] for s in samples) <= REPLIES.per_subject + 1  # + the bystander's
    assert max(s[2] for s in samples) < samples[0][3] / 100  # the store is nowhere near full
    # the flooding partner was told no, not silently accepted past its bound
    refused_by_bound = sum(
        n for k, n in outcomes.items() if "maximum messages per subject exceeded" in k
    )
    assert refused_by_bound > 0, outcomes
    assert outcomes["own: stored"] > 0  # and still heard within it
    assert (
        not outcomes["big: stored"]
        and outcomes["big: refused 10054: message size exceeds maximum allowed"]
        + outcomes["big: refused 10077: maximum messages per subject exceeded"]
    )
    assert not outcomes["status: stored"] and outcomes["status: no stream for the subject"]

    # nothing else lost: every case and referral, every request on its partner's stream or
    # fetched by the partner (interest retention: an acknowledged request leaves the stream)
    (cases,) = await system._rows("intake", "SELECT count(*) FROM case_record")
    assert cases[0] == 3 + len(normal) + len(flooded)
    refs = await system._rows(
        "referral", "SELECT id, case_id, service, partner_slug, status FROM referral"
    )
    per_case: dict[str, set[tuple[str, str]]] = {}
    for r in refs:
        per_case.setdefault(norm(r.case_id), set()).add((r.service, r.partner_slug))
    assert sorted(map(len, per_case.values())).count(3) == 3
    assert sum(v == THREE_WAY_REFERRALS for v in per_case.values()) == 3
    for slug in (FLOODER, TARGET, BYSTANDER):
        held = {
            norm(m.headers["ce-subject"])
            for m in await system._stream(subjects.agency_stream(slug))
            if m.subject.endswith(".requested")
        }
        fetched = arrivals.fetched if slug == TARGET else set()
        assert held | fetched == {norm(r.id) for r in refs if r.partner_slug == slug}, slug
    status = {norm(r.id): r.status for r in refs}
    assert status[norm(by_partner[BYSTANDER][0])] == "accepted"  # its reply was applied
    assert {status[norm(r)] for r in by_partner[FLOODER]} == {"accepted"}  # valid ones too

    # junk dead-lettered without its body
    dlq = await rjs.stream_info(subjects.DLQ_STREAM)
    junk = [
        m
        for m in await system._stream(subjects.DLQ_STREAM)
        if m.subject.startswith(f"dlq.v1.referral.referral.v1.from.{FLOODER}.")
    ]
    print(f"  DLQ: {dlq.state.messages} dead letters, {dlq.state.bytes} bytes")
    assert junk and not any(m.data for m in junk)
    # and logged a line a second, not a line a message
    log = (system.tmp / "referral.log").read_text().splitlines()
    lines = Counter(json.loads(line)["msg"] for line in log if line.startswith("{"))
    print(f"  referral's log: {len(log)} lines; {json.dumps(lines.most_common(4))}")
    for msg in ("message dead-lettered", f"security event: {NOT_HELD}"):
        assert lines[msg] <= 2 * (time.monotonic() - flood_started)
    for nc in (referral, target, bystander):
        await nc.close()
    await intake.aclose()
