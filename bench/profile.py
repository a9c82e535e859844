"""Where each service's CPU goes: py-spy's samples of the steady phase (BENCH_PROFILE), summed
by library, written as bench/results/profile-<db>.md beside the report.

py-spy samples a service's Python stacks 100 times a second and means to skip a thread that
waits (it does not always: the summary shows its samples against the CPU it covers). Each sample
counts once for the library of its innermost Python frame (its own time; a C extension's time
counts for the Python function that called it) and once for each function of ours on its stack
(the time under that function). What a case costs below the services' own code, SQLAlchemy and
pydantic is its measured CPU less what the samples above account for, so a waiting thread's
samples, which land in the loop or a driver, never make it larger.

The raw files (`profile-<service>-<db>-<run>.txt`) name this machine's paths and stay out of git
(.gitignore); the summary names a file by its path inside its package.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


class Layer(NamedTuple):
    name: str
    starts: tuple[str, ...]  # the start of a path inside its package
    below: bool = False  # below the services' own code, SQLAlchemy and pydantic


# The innermost frame's library, by the start of its path (first match). The layers `below`
# are what a round trip costs on its own: the drivers, the HTTP server, the event loop.
LAYERS: tuple[Layer, ...] = (
    Layer("ours (jejaring)", ("jejaring/",)),
    Layer("SQLAlchemy ORM", ("sqlalchemy/orm/", "sqlalchemy/ext/")),
    Layer("SQLAlchemy Core, engine and pool", ("sqlalchemy/",)),
    Layer("asyncpg (PostgreSQL driver)", ("asyncpg/",), below=True),
    Layer("aiosqlite and sqlite3", ("aiosqlite/", "sqlite3/"), below=True),
    Layer("pydantic", ("pydantic/", "pydantic_core/")),
    Layer("FastAPI and Starlette", ("fastapi/", "starlette/", "anyio/")),
    Layer("uvicorn (HTTP server)", ("uvicorn/", "httptools/", "h11/"), below=True),
    Layer("nats-py (JetStream client)", ("nats/",), below=True),
    Layer("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/", "selectors.py"), below=True),
    Layer("logging and JSON", ("logging/", "json/")),
    Layer("metrics and tracing", ("prometheus_client/", "opentelemetry/")),
    Layer("cryptography", ("cryptography/", "argon2/")),
)
OTHER = "other (standard library and the rest)"
RATE = 100  # py-spy's samples a second
# A process's entry, under every sample of its main thread: not a place the CPU goes.
ENTRY = ("jejaring/cli/preload.py", "/__main__.py", "jejaring/shared/web/serve.py")
# `function (path:line)`. A non-blocking sample can misread a string in the process's memory
# as a frame; a name that is not an identifier is no frame.
FRAME = re.compile(r"^(?P<function>[\w<>.]+) \((?P<path>[^()]*?)(?::\d+)?\)$")


def package_path(path: str) -> str:
    """`path` from its package on: a site-packages path from the package, one of ours from
    `jejaring/`, the standard library's from below `lib/pythonX.Y/`."""
    for marker in ("site-packages/", "/src/jejaring/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            if marker == "/src/jejaring/":
                return "jejaring/" + tail
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    return path.rsplit("/", 1)[-1] if path.startswith("/") else path


def layer(path: str) -> str:
    return next((la.name for la in LAYERS if path.startswith(la.starts)), OTHER)


@dataclass
class Samples:
    """One service's samples: in all, by library (own time), and under each function of ours."""

    total: int = 0
    own: Counter[str] = field(default_factory=Counter)
    under_ours: Counter[tuple[str, str]] = field(default_factory=Counter)  # (path, function)

    def add_raw(self, text: str) -> None:
        """Add py-spy's raw output: one stack a line, `frame;frame;... count`."""
        for line in text.splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [f for f in map(_frame, stack.split(";")) if f is not None]
            if not frames:
                continue
            self.total += n
            self.own[layer(frames[-1][1])] += n
            ours = {f for f in frames if f[1].startswith("jejaring/") and not f[1].endswith(ENTRY)}
            for function, path in ours:
                self.under_ours[path, function] += n

    def above_floor(self) -> int:
        """The samples whose innermost frame is above the drivers, the HTTP server and the
        event loop."""
        return self.total - sum(self.own[la.name] for la in LAYERS if la.below)


def _frame(raw: str) -> tuple[str, str] | None:
    match = FRAME.match(raw.strip())
    if match is None:  # a thread's or process's label, not a Python frame
        return None
    return match["function"], package_path(match["path"])


def markdown(
    kind: str,
    samples: dict[str, Samples],
    cases: int,
    cpu_ms: dict[str, float],
    kernel: dict[str, float],
    caption: str,
    top: int = 6,
) -> str:
    """The summary of `cases` profiled: each library's share of each service's samples; how
    much of its CPU a case (`cpu_ms`) is above the drivers and the event loop, and so how much
    at least is below; the kernel's share of it (`kernel`, its system time from /proc); then
    the functions of ours with the most samples under them."""
    services = [s for s, v in samples.items() if v.total]

    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    lines = [
        f"# Where the services' CPU goes: {kind}, steady phase at 20 cases/s (py-spy)",
        "",
        caption,
        "",
        "Share of each service's CPU samples, by the library of the innermost Python frame "
        "(a C extension's time counts for the Python function that called it; the event "
        "loop's share is uvloop's compiled code, asyncpg's on PostgreSQL, and the system calls "
        "under them):",
        "",
        row("library", services),
        "|---|" + "---:|" * len(services),
    ]
    for name in [la.name for la in LAYERS] + [OTHER]:
        shares = [_share(samples[s].own[name], samples[s].total) for s in services]
        if any(share != "0 %" for share in shares):
            lines.append(row(name, shares))
    # py-spy can count a waiting thread as running (more samples than CPU seconds x RATE), and
    # such a sample lands in the loop or a driver. So what is below them is the CPU less what
    # the samples above them account for: the floor is never overstated.
    above = {s: samples[s].above_floor() * 1000 / RATE / cases for s in services}
    below = {s: max(0.0, cpu_ms.get(s, 0.0) - above[s]) for s in services}
    lines += [
        row("samples", [str(samples[s].total) for s in services]),
        row(
            f"samples a second of the service's CPU ({RATE} if py-spy counted only CPU)",
            [
                f"{samples[s].total * 1000 / (cpu_ms[s] * cases):.0f}" if cpu_ms.get(s) else "–"
                for s in services
            ],
        ),
        row(
            "CPU a case, ms (all runs' CPU over their cases)",
            [f"{cpu_ms.get(s, 0):.1f}" for s in services],
        ),
        row(
            "of which in our code, SQLAlchemy, pydantic and the rest (their samples), ms",
            [f"{above[s]:.1f}" for s in services],
        ),
        row(
            "of which below them: drivers, HTTP server, event loop, kernel, ms",
            [f"{below[s]:.1f}" for s in services],
        ),
        row(
            "the kernel's share of the CPU (system time in /proc)",
            [_pct(kernel.get(s)) for s in services],
        ),
        "",
        "Below the services' own code, SQLAlchemy and pydantic, in the drivers (asyncpg or "
        "aiosqlite, nats-py), the HTTP server (uvicorn), the event loop and the kernel: "
        f"**{sum(below.values()):.1f} ms a case** of {sum(cpu_ms.get(s, 0) for s in services):.1f}, "
        "at least: what a case's statements and messages cost on the wire and the loop, "
        "whatever runs above them.",
        "",
        "The functions of ours with the most of a service's samples under them (the process's "
        "entry, under every sample of its main thread, left out). A statement SQLAlchemy runs "
        "for async code runs in a greenlet, whose samples py-spy shows apart from the function "
        "that awaited it: this counts a function's own work and what it calls outside the "
        "database.",
    ]
    for service in services:
        s = samples[service]
        lines += ["", f"| {service}: function | samples under it |", "|---|---:|"]
        for (path, function), n in s.under_ours.most_common(top):
            lines.append(f"| `{function}` ({path}) | {_share(n, s.total)} |")
    return "\n".join(lines) + "\n"


def _pct(fraction: float | None) -> str:
    return f"{100 * fraction:.0f} %" if fraction is not None else ""


def _share(n: int, total: int) -> str:
    return _pct(n / total if total else 0.0)


def summarize(raw_files: dict[str, list[Path]]) -> dict[str, Samples]:
    """Each service's samples from its raw files (one a run)."""
    out: dict[str, Samples] = {}
    for service, files in raw_files.items():
        samples = out.setdefault(service, Samples())
        for path in files:
            if path.exists():
                samples.add_raw(path.read_text(errors="replace"))
    return out
