"""`make bench-partners`: what a thousand partners (a thousand partner streams) cost.

Two measurements, each first with the four partners of the seed and then with BENCH_PARTNERS
(default 1,000):

- The embedded stack (`jejaring up`, on PostgreSQL when BENCH_POSTGRES is set): partners added
  one by one through referral's admin API (each makes its stream and consumer), how long each
  took; nats-server's and referral's memory and idle CPU (a minute, so each periodic job runs);
  routing latency and referral's CPU a case at a rate this machine sustains (BENCH_RATE;
  intake's 201 -> the partner stream, as `make bench` measures it); and how long `jejaring up` takes to be ready again with them all.
- Raw JetStream, one node (R1) and the three-node cluster (R3) on this machine: the same
  streams and consumers made with the services' own specs, the time per partner, each node's
  memory and idle CPU, and the publish + PubAck latency to a partner's stream.

    BENCH_PARTNERS   how many partners in all (default 1000)
    BENCH_SECONDS    length of each routing phase (default 30)
    BENCH_RATE       cases a second in the routing phases (default 5)
    BENCH_IDLE       seconds of idle CPU measured (default 60: one of each periodic job)
    BENCH_PARTS      embedded, raw or both (default both)

Writes bench/results/partners.md and prints it.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy import text

from bench.limits import cpu_reference
from bench.pipeline import Collector, Stack, cpu_seconds, percentile, rss_mb, run_phase
from jejaring.shared import db
from jejaring.shared.contract import subjects
from jejaring.shared.contract.enums import PartnerKind, Service
from jejaring.shared.messaging import provision
from jejaring.shared.messaging.natsserver import NatsServer, start_cluster

RESULTS = Path(__file__).parent / "results"
SEED_PARTNERS = 4
# cases a second while routing is measured: what this machine sustains with room to spare
RATE = float(os.environ.get("BENCH_RATE") or 5)
# a new partner of each kind offers the services of its kind, in every kelurahan
KIND_SERVICES: dict[PartnerKind, list[Service]] = {
    PartnerKind.LEGAL_AID: [Service.LEGAL_AID, Service.MEDIATION],
    PartnerKind.COUNSELLING: [Service.COUNSELLING, Service.ACCOMPANIMENT],
    PartnerKind.HEALTH: [Service.HEALTH],
    PartnerKind.SHELTER: [Service.SHELTER],
    PartnerKind.SOCIAL_SERVICE: [Service.SOCIAL_REHABILITATION, Service.ACCOMPANIMENT],
}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def ms(values: list[float]) -> str:
    """p50 / p99 in ms of values in seconds."""
    return f"{1000 * percentile(values, 0.5):.1f} / {1000 * percentile(values, 0.99):.1f}"


def bench_slug(n: int) -> str:
    return f"bench-{n:04d}"


def new_partner(n: int) -> dict[str, Any]:
    kind = list(KIND_SERVICES)[n % len(KIND_SERVICES)]
    return {
        "slug": bench_slug(n),
        "name": f"Mitra Bench {n:04d}",
        "kind": kind.value,
        "services": [s.value for s in KIND_SERVICES[kind]],
    }


async def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Each process's CPU use while nothing is asked of it, in % of one core."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    await asyncio.sleep(seconds)
    return {name: 100 * (cpu_seconds(pid) - before[name]) / seconds for name, pid in pids.items()}


# --- the embedded stack -------------------------------------------------------------------


@dataclass
class StackSide:
    partners: int
    nats_rss: float = 0.0
    referral_rss: float = 0.0
    idle: dict[str, float] = field(default_factory=dict)
    stream_p50_p99: str = ""
    referral_cpu_ms: float = 0.0
    restart_s: float = 0.0


@dataclass
class Growth:
    """Partners added one at a time: how many, how long in all and each, the first refusal."""

    count: int = 0
    seconds: float = 0.0
    latency: list[float] = field(default_factory=list)
    failed: str = ""

    def text(self) -> str:
        return f"{self.count:,} in {self.seconds:.1f} s, p50 / p99 {ms(self.latency)} ms each" + (
            f". **Stopped: {self.failed}**" if self.failed else ""
        )


async def grow(first: int, total: int, add: Callable[[int], Awaitable[str | None]]) -> Growth:
    """Partners `first`..`total - 1` added by `add`, which returns why one was refused."""
    growth = Growth()
    started = time.monotonic()
    for n in range(first, total):
        t0 = time.monotonic()
        refused = await add(n)
        if refused:
            growth.failed = f"partner {n + 1}: {refused[:300]}"
            print(f"  {growth.failed}", flush=True)
            break
        growth.latency.append(time.monotonic() - t0)
        growth.count += 1
        if (n + 1) % 100 == 0:
            print(f"  {n + 1} partners", flush=True)
    growth.seconds = time.monotonic() - started
    return growth


@dataclass
class StackResult:
    db: str
    before: StackSide
    after: StackSide
    growth: Growth = field(default_factory=Growth)
    cases: int = 0  # cases posted in all
    db_bytes: dict[str, int] = field(default_factory=dict)  # each service's database after


async def database_bytes(url: str) -> int:
    """The size of a service's database: PostgreSQL's own count, or SQLite's files."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            size = await conn.scalar(text("SELECT pg_database_size(current_database())"))
            return int(size or 0)
    finally:
        await engine.dispose()


async def measure_stack(
    tmp: Path, databases: dict[str, str] | None, total: int, seconds: float, idle_s: float
) -> StackResult:
    db = "postgresql" if databases else "sqlite"
    stack = Stack(tmp / f"partners-{db}", databases)
    print(f"\nembedded stack on {db}: ready in {stack.start():.2f} s", flush=True)
    try:
        officer = stack.officer()
        collector = Collector(stack)
        await run_phase(stack, collector, officer, "warm-up", 10, 5)
        before = await stack_side(stack, collector, officer, SEED_PARTNERS, seconds, idle_s)
        result = StackResult(db, before, StackSide(total))
        async with httpx.AsyncClient(
            base_url=stack.url("referral"), headers=stack.admin("referral"), timeout=60
        ) as client:

            async def add(n: int) -> str | None:
                r = await client.post("/api/v1/partners", json=new_partner(n))
                return None if r.status_code == 201 else f"HTTP {r.status_code} {r.text}"

            result.growth = await grow(SEED_PARTNERS, total, add)
        result.after = await stack_side(
            stack, collector, officer, SEED_PARTNERS + result.growth.count, seconds, idle_s
        )
        result.cases = len(collector.on_stream)
        result.db_bytes = {name: await database_bytes(url) for name, url in stack.databases.items()}
        return result
    finally:
        stack.stop()


async def stack_side(
    stack: Stack,
    collector: Collector,
    officer: dict[str, str],
    n: int,
    seconds: float,
    idle_s: float,
) -> StackSide:
    """With `n` partners: idle cost, a routing phase, then `jejaring up` stopped and started
    again (how long until ready)."""
    side = StackSide(n)
    assert stack.nats_pid is not None
    pids = {"nats-server": stack.nats_pid, "referral": stack.pids["referral"]}
    side.idle = await idle_cpu(pids, idle_s)
    side.nats_rss = rss_mb(stack.nats_pid)
    side.referral_rss = rss_mb(stack.pids["referral"])
    phase = await run_phase(stack, collector, officer, f"{n} partners", RATE, seconds)
    to_stream = [t for p in phase.ok for t in p.to_stream]
    side.stream_p50_p99 = ms(to_stream)
    side.referral_cpu_ms = 1000 * phase.cpu_s["referral"] / max(1, len(phase.ok))
    side.nats_rss = max(side.nats_rss, rss_mb(stack.nats_pid))
    stack.stop()
    side.restart_s = stack.start()
    print(f"  {n} partners: `jejaring up` ready again in {side.restart_s:.2f} s", flush=True)
    return side


# --- raw JetStream: one node and the three-node cluster --------------------------------------


@dataclass
class RawSide:
    partners: int
    rss: list[float]
    idle: list[float]
    publish: list[float]


@dataclass
class RawResult:
    nodes: int
    before: RawSide
    after: RawSide
    growth: Growth = field(default_factory=Growth)


async def until_ready(js: JetStreamContext, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            await js.account_info()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def make_partner(js: JetStreamContext, slug: str, replicas: int) -> None:
    await provision.ensure_stream(js, provision.agency_stream_spec(slug, replicas))
    await provision.ensure_consumer(js, provision.agency_consumer_spec(slug))


async def publish_latency(js: JetStreamContext, slugs: list[str], count: int = 500) -> list[float]:
    body = b"x" * 2048  # a request's typical size
    out = []
    for i in range(count):
        slug = slugs[(i * 7919) % len(slugs)]
        t0 = time.perf_counter()
        await js.publish(subjects.to_agency(slug, "requested"), body, timeout=10)
        out.append(time.perf_counter() - t0)
    return out


async def raw_side(
    js: JetStreamContext, servers: list[NatsServer], slugs: list[str], idle_s: float
) -> RawSide:
    pids = {str(i): s.process.pid for i, s in enumerate(servers) if s.process}
    idle = await idle_cpu(pids, idle_s)
    latency = await publish_latency(js, slugs)
    return RawSide(len(slugs), [rss_mb(pid) for pid in pids.values()], list(idle.values()), latency)


async def measure_raw(tmp: Path, nodes: int, total: int, idle_s: float) -> RawResult:
    replicas = nodes
    servers = start_cluster(tmp / f"raw-{nodes}", nodes, "bench")
    print(f"\nraw JetStream, {nodes} node(s), R{replicas}", flush=True)
    nc: NATS | None = None
    try:
        nc = await nats.connect([s.url for s in servers], max_reconnect_attempts=-1)
        js = nc.jetstream(timeout=30)
        await until_ready(js)
        for spec in provision.contract_streams(replicas):
            await provision.ensure_stream(js, spec)
        slugs = [bench_slug(n) for n in range(SEED_PARTNERS)]
        for slug in slugs:
            await make_partner(js, slug, replicas)
        before = await raw_side(js, servers, slugs, idle_s / 2)
        result = RawResult(nodes, before, before)

        async def add(n: int) -> str | None:
            try:
                await make_partner(js, bench_slug(n), replicas)
            except Exception as exc:  # where it breaks is the finding
                return f"{type(exc).__name__}: {exc}"
            slugs.append(bench_slug(n))
            return None

        result.growth = await grow(SEED_PARTNERS, total, add)
        result.after = await raw_side(js, servers, slugs, idle_s / 2)
        return result
    finally:
        if nc is not None:
            await nc.close()
        for server in servers:
            server.stop()


# --- the report -----------------------------------------------------------------------------


def markdown(
    stacks: list[StackResult],
    raws: list[RawResult],
    total: int,
    seconds: float,
    took: float,
    probe: float,
) -> str:
    lines = [
        f"# What {total:,} partners cost",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; routing phases {seconds:g} s at {RATE:g} cases/s; run took "
        f"{took:.0f} s. CPU speed: ten million Python additions took {probe:.2f} s of CPU. "
        "Written by `make bench-partners` "
        "(bench/partners.py); docs/capacity.md draws on it.",
        "",
    ]
    for s in stacks:
        lines += [
            f"## The embedded stack on {s.db} (`jejaring up`)",
            "",
            "Partners added through referral's admin API (each one's stream and consumer made "
            f"before its 201): {s.growth.text()}.",
            "",
            "| | with 4 partners | with " + f"{s.after.partners:,} |",
            "|---|---:|---:|",
            f"| nats-server memory (MB) | {s.before.nats_rss:.0f} | {s.after.nats_rss:.0f} |",
            f"| referral memory (MB) | {s.before.referral_rss:.0f} | {s.after.referral_rss:.0f} |",
            f"| nats-server idle CPU (% of a core) | {s.before.idle['nats-server']:.1f} | "
            f"{s.after.idle['nats-server']:.1f} |",
            f"| referral idle CPU (% of a core) | {s.before.idle['referral']:.1f} | "
            f"{s.after.idle['referral']:.1f} |",
            f"| 201 → partner stream, p50 / p99 ms | {s.before.stream_p50_p99} | "
            f"{s.after.stream_p50_p99} |",
            f"| referral CPU per case (ms) | {s.before.referral_cpu_ms:.1f} | "
            f"{s.after.referral_cpu_ms:.1f} |",
            f"| `jejaring up` ready again (s) | {s.before.restart_s:.2f} | "
            f"{s.after.restart_s:.2f} |",
            "",
            f"The databases after {s.cases:,} cases (with the partners and the migrations): "
            + ", ".join(f"{name} {b / 1e6:.1f} MB" for name, b in s.db_bytes.items())
            + ".",
            "",
        ]
    for r in raws:
        nodes = "one node (R1)" if r.nodes == 1 else f"the {r.nodes}-node cluster (R{r.nodes})"
        lines += [
            f"## Raw JetStream, {nodes}",
            "",
            f"Partners' streams and consumers made with the services' specs: {r.growth.text()}.",
            "",
            "| | with 4 partners | with " + f"{r.after.partners:,} |",
            "|---|---:|---:|",
            "| memory per node (MB) | "
            + " + ".join(f"{m:.0f}" for m in r.before.rss)
            + " | "
            + " + ".join(f"{m:.0f}" for m in r.after.rss)
            + " |",
            "| idle CPU per node (% of a core) | "
            + " + ".join(f"{c:.1f}" for c in r.before.idle)
            + " | "
            + " + ".join(f"{c:.1f}" for c in r.after.idle)
            + " |",
            f"| publish + PubAck to a partner, p50 / p99 ms | {ms(r.before.publish)} | "
            f"{ms(r.after.publish)} |",
            "",
        ]
    return "\n".join(lines)


async def main() -> int:
    total = env_int("BENCH_PARTNERS", 1000)
    seconds = float(env_int("BENCH_SECONDS", 30))
    idle_s = float(env_int("BENCH_IDLE", 60))
    parts = os.environ.get("BENCH_PARTS", "both")
    postgres = os.environ.get("BENCH_POSTGRES")
    started = time.monotonic()
    probe = cpu_reference()
    stacks: list[StackResult] = []
    raws: list[RawResult] = []
    with tempfile.TemporaryDirectory(prefix="jejaring-partners-") as name:
        tmp = Path(name)
        if parts in ("both", "embedded"):
            databases = (
                {
                    s: f"{postgres}/jejaring_bench_{s}"
                    for s in ("intake", "referral", "notify", "report")
                }
                if postgres
                else None
            )
            stacks.append(await measure_stack(tmp, databases, total, seconds, idle_s))
        if parts in ("both", "raw"):
            for nodes in (1, 3):
                raws.append(await measure_raw(tmp, nodes, total, idle_s))
    text = markdown(stacks, raws, total, seconds, time.monotonic() - started, probe)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "partners.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
