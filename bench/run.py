"""`make bench`: the pipeline's latency, throughput and memory against the raw limits.

    BENCH_SECONDS   length of the steady phase (default 60); the ramp's steps are a third of it
    BENCH_DB        postgresql, sqlite or both (default both; PostgreSQL needs BENCH_POSTGRES)
    BENCH_POSTGRES  a server URL without database, e.g. postgresql+asyncpg://u:p@127.0.0.1:5432
                    (`make bench` sets it with scripts/local-postgres)
    BENCH_RATES     the ramp's rates, cases/s (default 30,40,50,60,75,100,150,200,300)
    BENCH_REPEAT    runs of the pipeline per database, each on a fresh stack (default 3): the
                    report gives every run's figures, their median, and the CPU probe beside
    BENCH_PROFILE   services (intake,referral,notify,report) py-spy samples in the steady phase:
                    bench/results/profile-<db>.md says where their CPU goes (bench/profile.py)

Writes bench/results/latest.md and bench/results/latency.png, and prints the table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import profile, report
from bench.limits import cpu_reference, measure
from bench.pipeline import SERVICES, Collector, Phase, Stack, cpu_split, run_phase
from bench.report import RESULTS
from jejaring.testing import pg


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


async def pipeline(
    kind: str, tmp: Path, databases: dict[str, str] | None, seconds: float, number: int
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
        profiling = Profiling.start(stack, f"{kind}-{number}", seconds)
        phases.append(await run_phase(stack, collector, officer, "steady", 20, seconds))
        profiled_cpu = profiling.finish()
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
    return report.Run(kind, ready, idle, phases, probe, idle_pss, profiled_cpu)


def profiled() -> list[str]:
    return [n for n in os.environ.get("BENCH_PROFILE", "").split(",") if n]


def raw_profile(service: str, run: str) -> Path:
    """py-spy's samples of `service` in `run` (`<db>-<number>`). Not committed: they name this
    machine's paths, and a non-blocking sample can misread a string of the service's memory as
    a frame's name (a case's fields, in the bench's made-up cases)."""
    return RESULTS / f"profile-{service}-{run}.txt"


@dataclass
class Profiling:
    """py-spy on the services named in BENCH_PROFILE through the steady phase, and their CPU
    split into user and kernel (system) time over it."""

    procs: list[subprocess.Popen[bytes]]
    pids: dict[str, int]
    before: dict[str, tuple[float, float]]

    @classmethod
    def start(cls, stack: Stack, run: str, seconds: float) -> Profiling:
        procs = []
        pids = {name: stack.pids[name] for name in profiled()}
        for name, pid in pids.items():
            out = raw_profile(name, run)
            print(f"  py-spy records {name} during the steady phase -> {out}", flush=True)
            argv = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)]
            argv += ["--duration", str(int(seconds)), "--rate", str(profile.RATE)]
            argv += ["--format", "raw", "--full-filenames", "--output", str(out), "--nonblocking"]
            procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        return cls(procs, pids, {name: cpu_split(pid) for name, pid in pids.items()})

    def finish(self) -> dict[str, tuple[float, float]]:
        """Each profiled service's user and system seconds since the start."""
        cpu = {}
        for name, pid in self.pids.items():
            user, system = cpu_split(pid)
            cpu[name] = (user - self.before[name][0], system - self.before[name][1])
        for proc in self.procs:
            proc.wait()
        return cpu


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
                await pipeline(kind, tmp / f"{kind}-{i}", databases, seconds, i)
                for i in range(1, repeat + 1)
            ]
    for kind, done in runs.items():
        if profiled():
            _write_profile(kind, done)
    text = report.markdown(limits, runs, seconds, time.monotonic() - started)
    (RESULTS / "latest.md").write_text(text)
    report.plot([report.median_run(r) for r in runs.values()], RESULTS / "latency.png")
    print("\n" + text)
    print(f"written: {RESULTS / 'latest.md'}, {RESULTS / 'latency.png'}")
    return 0


def _write_profile(kind: str, done: list[report.Run]) -> None:
    """profile-<kind>.md from every run's samples of `kind`."""
    files = {
        s: [raw_profile(s, f"{kind}-{i}") for i in range(1, len(done) + 1)] for s in profiled()
    }
    probes = ", ".join(f"{r.probe_s:.2f}" for r in done)
    ended = dt.datetime.now(dt.UTC)
    caption = (
        f"{ended:%Y-%m-%d %H:%M} UTC; {len(done)} run(s), {profile.RATE} samples a second through each "
        f"steady phase; CPU probe before each run: {probes} s. Sampling costs the services CPU "
        "too: a profiled bench's figures are not the ones to compare. " + report.quiet_hours(ended)
    )
    out = RESULTS / f"profile-{kind}.md"
    kernel = {}
    for s in done[0].profiled_cpu_s:
        user = sum(r.profiled_cpu_s[s][0] for r in done)
        system = sum(r.profiled_cpu_s[s][1] for r in done)
        kernel[s] = system / (user + system)
    steadies = [steady for r in done if (steady := r.steady()) is not None]
    cases = sum(len(steady.ok) for steady in steadies)
    # all runs' CPU over all their cases, as the samples are counted
    cpu_ms = (
        {s: 1000 * sum(st.cpu_s.get(s, 0.0) for st in steadies) / cases for s in profiled()}
        if cases
        else {}
    )
    out.write_text(profile.markdown(kind, profile.summarize(files), cases, cpu_ms, kernel, caption))
    print(f"written: {out}", flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
