"""The benchmark's table (markdown) and its latency-over-time plot (PNG)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.limits import TOGETHER, Limits, Plumbing
from bench.pipeline import PARTNERS, SERVICES, Phase, percentile, waiting_for_quiet_hours
from jejaring.notify.render import WITA

# JetStream messages per case with three referrals: case.v1.created, and per referral the
# partner's referral.v1.to.<slug>.requested and the referral.v1.event.requested status event.
MESSAGES_PER_CASE = 1 + 3 * 2
RESULTS = Path(__file__).parent / "results"


@dataclass
class Run:
    kind: str
    ready_s: float
    idle_mb: dict[str, float]
    phases: list[Phase]
    probe_s: float  # the CPU-speed probe (ten million additions) just before this run
    idle_pss_mb: dict[str, float] = field(default_factory=dict)
    # each service py-spy profiled (BENCH_PROFILE): its user and system CPU seconds, steady phase
    profiled_cpu_s: dict[str, tuple[float, float]] = field(default_factory=dict)

    def steady(self) -> Phase | None:
        return next((p for p in self.phases if p.name == "steady"), None)

    def sustained(self) -> float:
        return max((p.rate for p in self.phases if p.sustained()), default=0.0)

    def peak_mb(self) -> dict[str, float]:
        """Each service's largest resident memory in any phase."""
        return self._largest(lambda p: p.rss_mb)

    def ended_pss_mb(self) -> dict[str, float]:
        """Each service's largest proportional share as a phase's load ended."""
        return self._largest(lambda p: p.pss_mb)

    def _largest(self, of: Callable[[Phase], dict[str, float]]) -> dict[str, float]:
        return {s: max((of(p).get(s, 0.0) for p in self.phases), default=0.0) for s in SERVICES}

    def steady_per_case_ms(self, *names: str) -> float | None:
        steady = self.steady()
        if steady is None or not steady.ok:
            return None
        return 1000 * sum(steady.cpu_s.get(n, 0.0) for n in names) / len(steady.ok)

    def steady_p99_ms(self, hop: str) -> float | None:
        """p99 of `hop` (a post's `to_stream` or `to_sent`) in the steady phase."""
        steady = self.steady()
        if steady is None or not steady.ok:
            return None
        return 1000 * percentile([t for q in steady.ok for t in getattr(q, hop)], 0.99)


@dataclass(frozen=True)
class Target:
    """One of the performance targets (issue 19): a figure of a run, and its bound."""

    name: str
    unit: str
    limit: float
    figure: Callable[[Run], float | None]
    digits: int = 0
    at_least: bool = False  # the figure must reach the limit, not stay below it
    each_run: bool = False  # met only when every run meets it, not the median

    def meets(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.limit if self.at_least else value <= self.limit

    def show(self, value: float | None) -> str:
        return "–" if value is None else f"{value:,.{self.digits}f} {self.unit}"

    def wanted(self) -> str:
        bound = f"{'≥' if self.at_least else '≤'} {self.limit:g} {self.unit}"
        return bound + (" in every run" if self.each_run else "")

    def met(self, values: Sequence[float | None]) -> bool:
        if self.each_run:
            return all(self.meets(v) for v in values)
        return self.meets(median(values))


SERVICES_CPU = Target(
    "services' CPU per case at 20 cases/s (" + " + ".join(SERVICES) + ")",
    "ms",
    12,
    lambda r: r.steady_per_case_ms(*SERVICES),
    digits=1,
)
TARGETS = (
    SERVICES_CPU,
    Target(
        "p99 201 → partner stream at 20 cases/s",
        "ms",
        50,
        lambda r: r.steady_p99_ms("to_stream"),
        each_run=True,
    ),
    Target(
        "p99 201 → notification sent at 20 cases/s",
        "ms",
        150,
        lambda r: r.steady_p99_ms("to_sent"),
        each_run=True,
    ),
    Target("sustained without errors or backlog", "cases/s", 60, Run.sustained, at_least=True),
    Target(
        "load generator's CPU per post at 20 cases/s",
        "ms/post",
        1,
        lambda r: r.steady_per_case_ms("client"),
        digits=2,
    ),
    Target("largest service's memory under load", "MB", 100, lambda r: max(r.peak_mb().values())),
    Target("stack ready after `jejaring up`", "s", 3, lambda r: r.ready_s, digits=2),
)


def median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def median_run(runs: Sequence[Run]) -> Run:
    """The run whose services' CPU per case is the median: its tables stand for the others."""
    ranked = sorted(runs, key=lambda r: SERVICES_CPU.figure(r) or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def ms(values: list[float]) -> str:
    return " / ".join(f"{1000 * percentile(values, q):.0f}" for q in (0.5, 0.95, 0.99))


def quiet_hours(ended: dt.datetime) -> str:
    """When the bench ended in WITA, and what the partners' quiet hours did to notify's work."""
    waiting = waiting_for_quiet_hours(ended)
    return (
        f"It ended at {ended.astimezone(WITA):%H:%M} WITA, "
        + (
            f"inside the quiet hours of {len(waiting)} of the {len(PARTNERS)} partners a case is "
            f"referred to ({', '.join(waiting)}): their alerts wait for the hours' end, so notify "
            f"sends {len(PARTNERS) - len(waiting)} of a case's {len(PARTNERS)} alerts at once "
            "and the latencies to the notification count those."
            if waiting
            else "outside every partner's quiet hours: notify sends each of a case's alerts at once."
        )
        + " Compare notify's figures only between runs on the same side of the quiet hours."
    )


def markdown(limits: Limits, runs: dict[str, list[Run]], seconds: float, elapsed: float) -> str:
    """`runs`: per database kind, the repeated runs (`BENCH_REPEAT`, three by default)."""
    ended = dt.datetime.now(dt.UTC)
    lines = [
        "# Jejaring benchmark",
        "",
        f"{ended:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs, Python {platform.python_version()}; steady phase "
        f"{seconds:g} s, ramp steps {max(10.0, seconds / 3):g} s; run took {elapsed:.0f} s. "
        "Durable file-backed streams; everything (nats-server, the services, PostgreSQL, "
        "the load generator) on this one machine. CPU speed: ten million Python additions took "
        f"{limits.cpu_reference_s:.2f} s of CPU before the limits, and the figure beside each "
        "run below before that run (a shared virtual machine varies between runs; compare "
        "figures only at a similar speed).",
        "",
        quiet_hours(ended),
        "",
        "## Limits (raw, same settings as the services)",
        "",
        "| | rate |",
        "|---|---:|",
        f"| JetStream publish + PubAck, one at a time | {limits.publish_sequential:,.0f} msg/s |",
        f"| JetStream publish + PubAck, 50 in flight | {limits.publish_concurrent:,.0f} msg/s |",
        f"| JetStream pull (batch 50) + `ack_sync` each | {limits.consume_ack_sync:,.0f} msg/s |",
    ]
    for kind, rate in limits.commits.items():
        lines.append(f"| {kind} commit, 1 writer | {rate:,.0f} commits/s |")
        lines.append(
            f"| {kind} commit, 8 writers | {limits.commits_concurrent[kind]:,.0f} commits/s |"
        )
    measured = [
        (
            limits.plumbing,
            "an event written to the outbox and published by its relay, {k} a transaction "
            "(the services' plumbing, no business rule)",
            "an event consumed (fetch, inbox, a handler that does nothing, commit, ack), "
            "{k} a fetch",
        ),
        (
            limits.floor,
            "the same event published on the drivers alone (asyncpg, nats-py: the same "
            "statements, no SQLAlchemy, CloudEvent, trace or metric), {k} a transaction",
            "the same event consumed on the drivers alone, {k} a fetch",
        ),
    ]
    for by_kind, published, consumed in measured:
        for kind, costs in by_kind.items():
            lines += [
                f"| {kind}: {what.format(k=k)} | {cpu:.2f} ms of CPU |"
                for what, per_k in ((published, costs.published_ms), (consumed, costs.consumed_ms))
                for k, cpu in per_k.items()
            ]
    for kind, repeats in runs.items():
        lines += ["", f"## Targets on {kind}", "", *_targets(repeats), *_bound(kind, repeats)]
    if {"postgresql", "sqlite"} <= runs.keys():
        lines += _sqlite_against_postgresql(runs["sqlite"], runs["postgresql"])
    for kind, repeats in runs.items():
        run = median_run(repeats)
        lines += [
            "",
            f"## Pipeline on {kind}: the median run",
            "",
            f"Run {repeats.index(run) + 1} of {len(repeats)} (the median services' CPU per "
            f"case). Stack ready {run.ready_s:.2f} s after `jejaring up` (fresh data "
            "directory, migrations included). Latencies in ms, p50 / p95 / p99, counted from "
            "the client's receipt of intake's 201.",
            "",
            "| phase | cases/s asked / sent | errors | intake 201 | → partner stream | "
            "→ notification sent | drained after last post sent | sustained | "
            "largest service's memory (MB) |",
            "|---|---|---:|---|---|---|---:|---|---|",
        ]
        for p in run.phases:
            drain = f"{p.drain_s:.1f} s" if p.drain_s is not None else "not in 60 s"
            largest = max(p.rss_mb, key=p.rss_mb.__getitem__)
            lines.append(
                f"| {p.name} | {p.rate:g} / {p.achieved_rate:.1f} | {p.errors}{p.error_kinds()} | "
                f"{ms([q.latency for q in p.ok])} | "
                f"{ms([t for q in p.ok for t in q.to_stream])} | "
                f"{ms([t for q in p.ok for t in q.to_sent])} | {drain} | "
                f"{'yes' if p.sustained() else 'no'} | {p.rss_mb[largest]:.0f} ({largest}) |"
            )
        lines += _cpu_table(run)
        if kind in limits.plumbing:
            lines += _plumbing_table(run, limits.plumbing[kind], limits.floor.get(kind))
        rows = {
            "resident, idle": run.idle_mb,
            "resident, peak under load": run.peak_mb(),
            "proportional share, idle": run.idle_pss_mb,
            "proportional share, as the load ended (largest phase)": run.ended_pss_mb(),
        }
        lines += ["", "| memory (MB) | " + " | ".join(SERVICES) + " |"]
        lines.append("|---|" + "---:|" * len(SERVICES))
        for label, mb in rows.items():
            lines.append(
                f"| {label} | " + " | ".join(f"{mb.get(s, 0):.0f}" for s in SERVICES) + " |"
            )
        lines += [
            "",
            "Resident memory counts every page a service maps, the modules it shares with the "
            "launcher and the other services included; the proportional share (PSS) divides "
            "each shared page among the processes that share it: what the service costs the "
            "machine.",
        ]
        sustained = run.sustained()
        ratio = sustained * MESSAGES_PER_CASE / limits.publish_concurrent
        lines += [
            "",
            f"Sustained: **{sustained:g} cases/s** ({3 * sustained:g} referrals/s, "
            f"{MESSAGES_PER_CASE * sustained:g} JetStream messages/s); pipeline ÷ limit = "
            f"{MESSAGES_PER_CASE * sustained:g} ÷ {limits.publish_concurrent:,.0f} "
            f"(publish + PubAck, 50 in flight) = **{ratio:.2f}**.",
        ]
    lines += [
        "",
        "A step is *sustained* when every post got its 201 (a post whose connection failed is "
        "sent once more with its Idempotency-Key, as an officer's app would, and counted as "
        "retried), the client kept the asked rate "
        "(≥ 95 %), every 201, referral and notification of the step was out within 5 s of its "
        "last post being sent, and the median time from sending a post to its last "
        "notification in the step's last third stayed below twice the first third's + 250 ms "
        "(no growing backlog, in front of intake or behind it).",
        "",
    ]
    return "\n".join(lines)


def _targets(runs: Sequence[Run]) -> list[str]:
    """Each target's figure in every run, the probe beside them, the median and the verdict."""
    heads = [f"run {i + 1}" for i in range(len(runs))]
    lines = [
        "| target | " + " | ".join(heads) + " | median | wanted | met |",
        "|---|" + "---:|" * (len(runs) + 1) + "---|---|",
        "| CPU probe: ten million additions | "
        + " | ".join(f"{r.probe_s:.2f} s" for r in runs)
        + " | | | |",
    ]
    for target in TARGETS:
        values = [target.figure(r) for r in runs]
        lines.append(
            f"| {target.name} | "
            + " | ".join(target.show(v) for v in values)
            + f" | {target.show(median(values))} | {target.wanted()} | "
            + ("yes" if target.met(values) else "**no**")
            + " |"
        )
    return lines


def _bound(kind: str, runs: Sequence[Run]) -> list[str]:
    """Where the profile that bounds a missed CPU target is, when the bench has written one."""
    if SERVICES_CPU.met([SERVICES_CPU.figure(r) for r in runs]):
        return []
    name = f"profile-{kind}.md"
    if not (RESULTS / name).exists():
        return []
    return [
        "",
        f"What bounds the services' CPU per case: `bench/results/{name}` (py-spy, "
        '`BENCH_PROFILE=intake,referral,notify,report`) and `docs/decisions.md`, "The '
        'profile beside the report".',
    ]


def _sqlite_against_postgresql(sqlite: Sequence[Run], postgresql: Sequence[Run]) -> list[str]:
    """SQLite within 2x of PostgreSQL on every figure: the medians side by side."""
    lines = [
        "",
        "## SQLite against PostgreSQL (medians)",
        "",
        "| figure | sqlite | postgresql | sqlite ÷ postgresql (worse is > 1) | within 2× |",
        "|---|---:|---:|---:|---|",
    ]
    for target in TARGETS:
        lite = median([target.figure(r) for r in sqlite])
        pg = median([target.figure(r) for r in postgresql])
        if not lite or not pg:
            lines.append(f"| {target.name} | {target.show(lite)} | {target.show(pg)} | – | – |")
            continue
        worse = pg / lite if target.at_least else lite / pg
        lines.append(
            f"| {target.name} | {target.show(lite)} | {target.show(pg)} | {worse:.2f} | "
            + ("yes" if worse <= 2 else "**no**")
            + " |"
        )
    return lines


def _cpu_table(run: Run) -> list[str]:
    """CPU ms per case of every process on the machine, and each service's database round
    trips per case, per phase: where the cores went, and the first reason why."""
    return _per_case(
        run,
        "CPU time per case in ms, from the phase's first post until it drained (PostgreSQL: "
        "all its processes; client: the load generator while it posts).",
        lambda p: {name: 1000 * used for name, used in p.cpu_s.items()},
    ) + _per_case(
        run,
        "Database round trips per case (each service's `jejaring_db_round_trips_total`: "
        "statements, BEGIN, COMMIT and ROLLBACK).",
        lambda p: p.statements,
    )


def _fixed_and_each(per_event: dict[int, float]) -> tuple[float, float]:
    """CPU ms an event at each batch size (`TOGETHER`) -> (paid once a batch, paid an event):
    a batch of k costs fixed + k × each, fitted through the smallest and the largest k."""
    a, b = TOGETHER[0], TOGETHER[-1]
    each = max(0.0, (b * per_event[b] - a * per_event[a]) / (b - a))
    return max(0.0, a * per_event[a] - a * each), each


def _plumbing_table(run: Run, plumbing: Plumbing, floor: Plumbing | None) -> list[str]:
    """Per service at 20 cases/s: the events a case makes it consume and publish and in how
    many fetches and relay batches, what the plumbing alone costs that (the limits above, split
    into what a batch costs once and what each event adds), the same on the drivers alone where
    measured (`floor`), and the service's measured CPU."""
    steady = run.steady()
    if steady is None or not steady.consumed:
        return []
    n = max(1, len(steady.ok))
    costs_of = [plumbing] + ([floor] if floor is not None else [])
    lines = [
        "",
        "What the plumbing alone costs a case at 20 cases/s: each service's events a case and "
        "the fetches and relay batches they came in (its `jejaring_events_consumed_total`, "
        "`_published_total`, `jejaring_consumer_batches_total` and "
        "`jejaring_outbox_batches_total`), priced by the limits above (what a batch costs once "
        "and what each event adds, from one and ten together)"
        + (", through the services' plumbing and on the drivers alone" if floor is not None else "")
        + ", against the service's measured CPU.",
        "",
        "| service | events consumed a case | fetches a case | published a case "
        "| relay batches a case | plumbing, ms |"
        + (" drivers alone, ms |" if floor is not None else "")
        + " measured, ms |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(costs_of),
    ]
    prices = [
        (*_fixed_and_each(of.consumed_ms), *_fixed_and_each(of.published_ms)) for of in costs_of
    ]
    totals = [0.0] * (len(costs_of) + 1)
    for service, consumed in steady.consumed.items():
        published = steady.published.get(service, 0.0)
        fetches = steady.fetches.get(service, 0.0)
        batches = steady.relay_batches.get(service, 0.0)
        costs = [
            (fetches * fetch + consumed * event_in + batches * batch + published * event_out) / n
            for fetch, event_in, batch, event_out in prices
        ]
        measured = 1000 * steady.cpu_s.get(service, 0.0) / n
        totals = [a + b for a, b in zip(totals, [*costs, measured], strict=True)]
        figures = " | ".join(f"{c:.1f}" for c in [*costs, measured])
        lines.append(
            f"| {service} | {consumed / n:.1f} | {fetches / n:.1f} | {published / n:.1f} | "
            f"{batches / n:.1f} | {figures} |"
        )
    lines.append("| all | | | | | " + " | ".join(f"{t:.1f}" for t in totals) + " |")
    if floor is not None:
        plumbed, drivers, measured = totals
        lines += [
            "",
            f"At the batching measured, the plumbing costs a case {plumbed:.1f} ms of CPU, and "
            f"the same statements, publishes and acks on the drivers alone {drivers:.1f} ms; the "
            f"services measured {measured:.1f}. Their own work (the HTTP request, the "
            "CloudEvents, the rules and their statements, the encryption, the audit chain) is "
            f"the other {max(0.0, measured - plumbed):.1f} ms. Were the plumbing on the drivers, "
            f"a target of 12 ms a case would leave {max(0.0, 12 - drivers):.1f} ms for that work.",
        ]
    return lines


def _per_case(run: Run, caption: str, figures: Callable[[Phase], dict[str, float]]) -> list[str]:
    names = list(figures(run.phases[0])) if run.phases else []
    lines = [
        "",
        caption,
        "",
        "| phase | " + " | ".join(names) + " | total |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for p in run.phases:
        n = max(1, len(p.ok))
        per_case = [figures(p).get(name, 0.0) / n for name in names]
        lines.append(
            f"| {p.name} | "
            + " | ".join(f"{v:.1f}" for v in per_case)
            + f" | {sum(per_case):.1f} |"
        )
    return lines


CPU_COLOURS = {
    "intake": "tab:blue",
    "referral": "tab:orange",
    "notify": "tab:green",
    "report": "tab:purple",
    "nats-server": "tab:brown",
    "postgresql": "tab:red",
}


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        2 * len(runs),
        1,
        figsize=(12, 7 * len(runs)),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 2] * len(runs)},
    )
    for i, run in enumerate(runs):
        ax, cores = axes[2 * i][0], axes[2 * i + 1][0]
        posts = [q for p in run.phases for q in p.ok]
        if not posts:
            continue
        t0 = min(q.sent for q in posts)
        _plot_cpu(cores, run, t0)
        cores.sharex(ax)
        for label, values, colour in (
            ("intake 201", [(q.sent - t0, q.latency) for q in posts], "tab:blue"),
            (
                "→ partner stream (slowest of 3)",
                [(q.sent - t0, max(q.to_stream)) for q in posts if q.to_stream],
                "tab:orange",
            ),
            (
                "→ notification sent (slowest)",
                [(q.sent - t0, max(q.to_sent)) for q in posts if q.to_sent],
                "tab:green",
            ),
        ):
            ax.scatter(
                [x for x, _ in values],
                [max(1000 * y, 0.1) for _, y in values],
                s=3,
                label=label,
                color=colour,
                alpha=0.6,
            )
        for p in run.phases:
            if p.ok:
                start = min(q.sent for q in p.ok) - t0
                ax.axvline(start, color="grey", lw=0.5)
                ax.text(
                    start,
                    1.0,
                    f" {p.rate:g}/s",
                    fontsize=7,
                    transform=ax.get_xaxis_transform(),
                    va="top",
                )
        ax.set_yscale("log")
        ax.set_ylabel("ms")
        ax.set_xlabel("s since the first post")
        ax.set_title(f"{run.kind}: latency per case over time (phases: cases/s asked)")
        ax.legend(loc="upper left", markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_cpu(ax: Any, run: Run, t0: float) -> None:
    """Cores each process used, half a second at a time, under the latencies: which one was
    busy when they rose (a periodic job, PostgreSQL's checkpoint or autovacuum, nats-server)."""
    for phase in run.phases:
        timeline = phase.cpu_timeline
        for name in timeline[0][1] if timeline else ():
            points = [
                ((t1 + t2) / 2 - t0, (u2[name] - u1[name]) / (t2 - t1))
                for (t1, u1), (t2, u2) in itertools.pairwise(timeline)
                if t2 > t1
            ]
            if not any(y for _, y in points):
                continue
            colour = CPU_COLOURS.get(name, "black")
            ax.plot(
                [x for x, _ in points],
                [y for _, y in points],
                color=colour,
                lw=0.8,
                label=name if phase is run.phases[0] else None,
            )
    ax.set_ylabel("cores")
    ax.set_xlabel("s since the first post")
    ax.set_title(f"{run.kind}: CPU per process, half a second at a time")
    ax.legend(loc="upper left", ncol=3, fontsize=8)
