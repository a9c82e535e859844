"""`make bench`: the pipeline's latency, throughput and memory against the raw limits.

    BENCH_SECONDS   length of the steady phase (default 60); the ramp's steps are a third of it
    BENCH_DB        postgresql, sqlite or both (default both; PostgreSQL needs BENCH_POSTGRES)
    BENCH_POSTGRES  a server URL without database, e.g. postgresql+asyncpg://u:p@127.0.0.1:5432
                    (`make bench` sets it with scripts/local-postgres)
    BENCH_RATES     the ramp's rates, cases/s (default 30,40,50,60,75,100,150,200,300)
    BENCH_REPEAT    runs of the pipeline per database, each on a fresh stack (default 3): the
                    report gives every run's figures, their median, and the CPU probe beside
    BENCH_PROFILE   services (intake,referral,notify,report) py-spy samples in the steady phase
                    (collapsed stacks, bench/results/profile-<service>-<db>.txt)

Writes bench/results/latest.md and bench/results/latency.png, and prints the table.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.limits import cpu_reference, measure
from bench.pipeline import SERVICES, Collector, Phase, Stack, run_phase
from jejaring.testing import pg

RESULTS = Path(__file__).parent / "results"


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


async def pipeline(
    kind: str, tmp: Path, databases: dict[str, str] | None, seconds: float
) -> report.Run:
    for url in (databases or {}).values():
        await pg.recreate_database(url)  # each run starts empty, as on a fresh machine
    probe = cpu_reference()
    print(
        f"\n{kind}: CPU probe {probe:.2f} s; starting the embedded stack (jejaring up)", flush=True
    )
    stack = Stack(tmp, databases)
    ready = stack.start()
    print(f"  ready in {ready:.2f} s", flush=True)
    phases: list[Phase] = []
    try:
        await asyncio.sleep(3)
        idle, idle_pss = stack.rss(), stack.pss()
        officer = stack.officer()
        collector = Collector(stack)
        await run_phase(stack, collector, officer, "warm-up", 10, 5)
        profilers = _profile(stack, kind, seconds)
        phases.append(await run_phase(stack, collector, officer, "steady", 20, seconds))
        for profiler in profilers:
            profiler.wait()
        rates = [
            float(r)
            for r in os.environ.get("BENCH_RATES", "30,40,50,60,75,100,150,200,300").split(",")
        ]
        step = max(10.0, seconds / 3)
        for rate in rates:
            phase = await run_phase(stack, collector, officer, f"ramp {rate:g}", rate, step)
            phases.append(phase)
            if not phase.sustained():
                break
            await asyncio.sleep(2)
    finally:
        stack.stop()
    return report.Run(kind, ready, idle, phases, probe, idle_pss)


def _profile(stack: Stack, kind: str, seconds: float) -> list[subprocess.Popen[bytes]]:
    """py-spy on the services named in BENCH_PROFILE, for the steady phase."""
    names = [n for n in os.environ.get("BENCH_PROFILE", "").split(",") if n]
    procs = []
    for name in names:
        out = RESULTS / f"profile-{name}-{kind}.txt"
        print(f"  py-spy records {name} during the steady phase -> {out}", flush=True)
        argv = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid"]
        argv += [str(stack.pids[name]), "--duration", str(int(seconds)), "--rate", "100"]
        argv += ["--format", "raw", "--output", str(out), "--nonblocking"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


async def main() -> int:
    seconds = env_float("BENCH_SECONDS", 60)
    repeat = max(1, int(env_float("BENCH_REPEAT", 3)))
    which = os.environ.get("BENCH_DB", "both")
    postgres = os.environ.get("BENCH_POSTGRES")
    kinds = ["postgresql", "sqlite"] if which == "both" else [which]
    if "postgresql" in kinds and not postgres:
        if which == "postgresql":
            print("BENCH_POSTGRES is not set (make bench sets it)", file=sys.stderr)
            return 2
        print("BENCH_POSTGRES is not set: SQLite only", flush=True)
        kinds.remove("postgresql")
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jejaring-bench-") as name:
        tmp = Path(name)
        dbs = {"sqlite": f"sqlite+aiosqlite:///{tmp / 'limits.db'}"}
        if postgres:
            dbs["postgresql"] = f"{postgres}/jejaring_bench_limits"
        print(f"limits: JetStream and database commit rates, {max(3.0, seconds / 10):g} s each")
        limits = await measure(
            tmp, {k: v for k, v in dbs.items() if k in kinds}, max(3.0, seconds / 10)
        )
        runs: dict[str, list[report.Run]] = {}
        for kind in kinds:
            databases = (
                {s: f"{postgres}/jejaring_bench_{s}" for s in SERVICES}
                if kind == "postgresql"
                else None
            )
            runs[kind] = [
                await pipeline(kind, tmp / f"{kind}-{i}", databases, seconds)
                for i in range(1, repeat + 1)
            ]
    text = report.markdown(limits, runs, seconds, time.monotonic() - started)
    (RESULTS / "latest.md").write_text(text)
    report.plot([report.median_run(r) for r in runs.values()], RESULTS / "latency.png")
    print("\n" + text)
    print(f"written: {RESULTS / 'latest.md'}, {RESULTS / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
