"""The benchmark's table (markdown) and its latency-over-time plot (PNG)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.limits import Limits
from bench.pipeline import SERVICES, Phase, percentile

# JetStream messages per case with three referrals: case.v1.created, and per referral the
# partner's referral.v1.to.<slug>.requested and the referral.v1.event.requested status event.
MESSAGES_PER_CASE = 1 + 3 * 2


@dataclass
class Run:
    kind: str
    ready_s: float
    idle_mb: dict[str, float]
    phases: list[Phase]

    def steady(self) -> Phase | None:
        return next((p for p in self.phases if p.name == "steady"), None)

    def sustained(self) -> float:
        return max((p.rate for p in self.phases if p.sustained()), default=0.0)

    def peak_mb(self) -> dict[str, float]:
        return {s: max((p.rss_mb.get(s, 0.0) for p in self.phases), default=0.0) for s in SERVICES}


def ms(values: list[float]) -> str:
    return " / ".join(f"{1000 * percentile(values, q):.0f}" for q in (0.5, 0.95, 0.99))


def markdown(limits: Limits, runs: list[Run], seconds: float, elapsed: float) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Jejaring benchmark",
        "",
        f"{now}; {os.cpu_count()} CPUs, Python {platform.python_version()}; steady phase "
        f"{seconds:g} s, ramp steps {max(10.0, seconds / 3):g} s; run took {elapsed:.0f} s. "
        "Durable file-backed streams; everything (nats-server, the three services, PostgreSQL, "
        "the load generator) on this one machine. CPU speed: ten million Python additions took "
        f"{limits.cpu_reference_s:.2f} s of CPU (a shared virtual machine varies between runs; "
        "compare figures only at a similar speed).",
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
    for run in runs:
        lines += [
            "",
            f"## Pipeline on {run.kind}",
            "",
            f"Stack ready {run.ready_s:.2f} s after `jejaring up` (fresh data directory, "
            "migrations included). Latencies in ms, p50 / p95 / p99, counted from the client's "
            "receipt of intake's 201.",
            "",
            "| phase | cases/s asked / sent | errors | intake 201 | → partner stream | "
            "→ notification sent | drained after last post sent | sustained |",
            "|---|---|---:|---|---|---|---:|---|",
        ]
        for p in run.phases:
            drain = f"{p.drain_s:.1f} s" if p.drain_s is not None else "not in 60 s"
            lines.append(
                f"| {p.name} | {p.rate:g} / {p.achieved_rate:.1f} | {p.errors}{p.error_kinds()} | "
                f"{ms([q.latency for q in p.ok])} | "
                f"{ms([t for q in p.ok for t in q.to_stream])} | "
                f"{ms([t for q in p.ok for t in q.to_sent])} | {drain} | "
                f"{'yes' if p.sustained() else 'no'} |"
            )
        lines += _cpu_table(run)
        peak = run.peak_mb()
        lines += [
            "",
            "| resident memory (MB) | " + " | ".join(SERVICES) + " |",
            "|---|" + "---:|" * len(SERVICES),
            "| idle | " + " | ".join(f"{run.idle_mb.get(s, 0):.0f}" for s in SERVICES) + " |",
            "| peak under load | " + " | ".join(f"{peak[s]:.0f}" for s in SERVICES) + " |",
        ]
        sustained = run.sustained()
        ratio = sustained * MESSAGES_PER_CASE / limits.publish_concurrent
        steady = run.steady()
        lines += [
            "",
            f"Sustained: **{sustained:g} cases/s** ({3 * sustained:g} referrals/s, "
            f"{MESSAGES_PER_CASE * sustained:g} JetStream messages/s); pipeline ÷ limit = "
            f"{MESSAGES_PER_CASE * sustained:g} ÷ {limits.publish_concurrent:,.0f} "
            f"(publish + PubAck, 50 in flight) = **{ratio:.2f}**.",
        ]
        if steady is not None:
            to_stream = percentile([t for q in steady.ok for t in q.to_stream], 0.99)
            to_sent = percentile([t for q in steady.ok for t in q.to_sent], 0.99)
            checks = [
                (
                    "p99 201 → partner stream at 20 cases/s",
                    f"{1000 * to_stream:.0f} ms",
                    "≤ 50 ms",
                    to_stream <= 0.050,
                ),
                (
                    "p99 201 → notification sent at 20 cases/s",
                    f"{1000 * to_sent:.0f} ms",
                    "≤ 150 ms",
                    to_sent <= 0.150,
                ),
                (
                    "sustained without errors or backlog",
                    f"{sustained:g} cases/s",
                    "≥ 150",
                    sustained >= 150,
                ),
                (
                    "largest service under load",
                    f"{max(peak.values()):.0f} MB",
                    "≤ 120 MB",
                    max(peak.values()) <= 120,
                ),
                (
                    "stack ready after `jejaring up`",
                    f"{run.ready_s:.2f} s",
                    "≤ 5 s",
                    run.ready_s <= 5,
                ),
            ]
            lines += ["", "| target | measured | wanted | met |", "|---|---|---|---|"]
            lines += [f"| {a} | {b} | {c} | {'yes' if d else '**no**'} |" for a, b, c, d in checks]
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


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(12, 4.5 * len(runs)), squeeze=False)
    for ax, run in zip((a[0] for a in axes), runs, strict=True):
        posts = [q for p in run.phases for q in p.ok]
        if not posts:
            continue
        t0 = min(q.sent for q in posts)
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
