"""The pipeline under load: the embedded stack (`jejaring up`), cases posted over HTTP at an
open-loop rate, and per case the times a user would see.

Times are wall-clock on one machine: the client's receipt of intake's 201, the time JetStream
stored each referral on its partner's stream (the stream's own timestamp, read back afterwards),
and the time notify marked each notification sent in its delivery log (file channel). Nothing
is read from the services while the load runs, so the measuring does not compete for the CPU.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import httpx
import nats
from nats.aio.client import Client as NATS
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from jejaring.cli import natsconfig
from jejaring.cli.stack import admin_token_file
from jejaring.notify.models import Delivery
from jejaring.notify.service import quiet_until
from jejaring.shared import db
from jejaring.shared.contract import subjects
from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import THREE_WAY_CASE, THREE_WAY_REFERRALS

SERVICES = ("intake", "referral", "notify", "report")
PARTNERS = sorted({slug for _, slug in THREE_WAY_REFERRALS})
CASE = THREE_WAY_CASE


def waiting_for_quiet_hours(at: dt.datetime) -> list[str]:
    """The PARTNERS whose seed contacts (referral's partners.json) keep quiet hours at `at`:
    notify defers their non-urgent alerts to the hours' end instead of sending them."""
    seed = json.loads((files("jejaring.referral") / "data" / "partners.json").read_text())
    return sorted(
        partner["slug"]
        for partner in seed
        if partner["slug"] in PARTNERS
        and any(
            (hours := contact.get("quiet_hours"))
            and quiet_until(
                Delivery(urgent=False, quiet_start=hours["start"], quiet_end=hours["end"]), at
            )
            for contact in partner["contacts"]
        )
    )


@dataclass
class Post:
    sent: float  # wall clock, s
    answered: float
    status: int | str
    reference: str | None = None
    retried: bool = False  # the first attempt failed on the connection; the retry's answer
    to_stream: list[float] = field(default_factory=list)  # s after the 201, one per referral
    to_sent: list[float] = field(default_factory=list)  # s after the 201, one per notification

    @property
    def latency(self) -> float:
        return self.answered - self.sent


@dataclass
class Phase:
    name: str
    rate: float
    seconds: float
    posts: list[Post]
    rss_mb: dict[str, float]  # peak per service during the phase
    cpu_s: dict[str, float]  # CPU time per process from the first post until drained
    achieved_rate: float = 0.0
    drain_s: float | None = None  # from the last post sent until every answer, referral and
    # message was out
    statements: dict[str, float] = field(default_factory=dict)  # per service, in the phase
    consumed: dict[str, float] = field(default_factory=dict)  # events, per service, in the phase
    published: dict[str, float] = field(default_factory=dict)  # events, per service
    fetches: dict[str, float] = field(default_factory=dict)  # consumers' batches, per service
    relay_batches: dict[str, float] = field(default_factory=dict)  # the relay's, per service
    # (wall clock, CPU seconds so far per process) every half second, for the plot
    cpu_timeline: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    pss_mb: dict[str, float] = field(default_factory=dict)  # per service, as the load ended

    @property
    def errors(self) -> int:
        return sum(1 for p in self.posts if p.status != 201)

    def error_kinds(self) -> str:
        kinds = Counter(str(p.status) for p in self.posts if p.status != 201)
        retried = sum(p.retried for p in self.posts)
        parts = [f"{k}: {n}" for k, n in kinds.items()] + (
            [f"retried {retried}"] if retried else []
        )
        return f" ({', '.join(parts)})" if parts else ""

    @property
    def ok(self) -> list[Post]:
        return [p for p in self.posts if p.status == 201]

    def growing(self) -> bool:
        """Time from sending the post to its last notification, in the last third well above
        the first third (counted from the send, so a queue in front of intake shows too)."""
        ok = sorted(self.ok, key=lambda p: p.sent)
        third = len(ok) // 3
        if third < 5:
            return False

        def end_to_end(p: Post) -> float:
            return p.latency + max(p.to_sent, default=0)

        first = statistics.median(end_to_end(p) for p in ok[:third])
        last = statistics.median(end_to_end(p) for p in ok[-third:])
        return last > 2 * first + 0.25

    def sustained(self) -> bool:
        return (
            self.errors == 0
            and self.achieved_rate >= 0.95 * self.rate
            and self.drain_s is not None
            and self.drain_s <= 5.0
            and not self.growing()
        )


def cpu_per_case(phase: Phase) -> str:
    n = max(1, len(phase.ok))
    return " ".join(f"{name} {1000 * used / n:.1f}" for name, used in phase.cpu_s.items())


def statements_per_case(phase: Phase) -> str:
    n = max(1, len(phase.ok))
    return " ".join(f"{name} {sent / n:.1f}" for name, sent in phase.statements.items())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_mb(pid: int) -> float:
    """A process's resident memory: every page it maps, those it shares included."""
    return _kernel_mb(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float:
    """A process's proportional share of memory: a page it shares with others (the services
    forked from one launcher share the modules it imported) divided among them."""
    return _kernel_mb(f"/proc/{pid}/smaps_rollup", "Pss:")


def _kernel_mb(path: str, field_name: str) -> float:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field_name):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """The user and the system (kernel) CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def processes_cpu(pids: dict[str, int], *, postgresql: bool) -> dict[str, float]:
    """CPU seconds used so far by each named process and, with `postgresql`, by every
    PostgreSQL process on this machine."""
    used = {name: cpu_seconds(pid) for name, pid in pids.items()}
    if postgresql:
        used["postgresql"] = postgres_cpu_seconds()
    return used


def children(parent: int, names: tuple[str, ...] = SERVICES) -> dict[str, int]:
    """The processes `jejaring up` started (the services, or nats-server): name -> pid."""
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid != parent:
            continue
        for name in names:
            marker = f"jejaring.{name}" if name in SERVICES else name
            if marker.encode() in cmdline:
                found[name] = int(proc.name)
    return found


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine, those that have exited included (the
    postmaster's reaped children: a closed connection's server process counts too)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        if fields[1] == "1" or not _is_postgres(int(fields[1])):  # the postmaster
            total += (int(fields[13]) + int(fields[14])) / tick
    return total


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


class Stack:
    """`jejaring up` in a fresh data directory on free ports, optionally on PostgreSQL."""

    def __init__(self, tmp: Path, databases: dict[str, str] | None) -> None:
        self.data_dir = tmp / "data"
        self.ports = {name: free_port() for name in SERVICES}
        self.nats_port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            JEJARING_DATA_DIR=str(self.data_dir),
            JEJARING_NATS_PORT=str(self.nats_port),
            JEJARING_NATS_MONITOR_PORT=str(free_port()),
            **{f"JEJARING_{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
        )
        for name in SERVICES:
            self.env.pop(f"{name.upper()}_ADMIN_TOKEN", None)
        self.databases = {
            name: (databases or {}).get(name) or db.default_sqlite_url(name, self.data_dir)
            for name in SERVICES
        }
        for name in SERVICES:
            self.env[f"{name.upper()}_DATABASE_URL"] = self.databases[name]
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: dict[str, int] = {}
        self.nats_pid: int | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, timeout: float = 60) -> float:
        """Start the stack; seconds until every service answered /readyz 200."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.data_dir.parent / "jejaring-up.log", "ab") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("jejaring")), "up"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        waiting = set(SERVICES)
        with httpx.Client(timeout=1) as client:
            while waiting and time.monotonic() - started < timeout:
                for name in list(waiting):
                    try:
                        if client.get(self.url(name) + "/readyz").status_code == 200:
                            waiting.discard(name)
                    except httpx.HTTPError:
                        pass
                if waiting:
                    time.sleep(0.05)
        if waiting:
            raise RuntimeError(f"not ready after {timeout} s: {sorted(waiting)}")
        ready = time.monotonic() - started
        self.pids = children(self.proc.pid)
        self.nats_pid = next(iter(children(self.proc.pid, ("nats-server",)).values()), None)
        return ready

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def admin(self, service: str) -> dict[str, str]:
        """The headers of `service`'s admin, with the token the stack made."""
        token = admin_token_file(self.data_dir, service).read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def officer(self) -> dict[str, str]:
        r = httpx.post(
            self.url("intake") + "/api/v1/users",
            json={"name": "Petugas Bench", "role": "officer", "kelurahan_code": "64.71.04.1003"},
            headers=self.admin("intake"),
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def processes(self) -> dict[str, int]:
        """The services' and nats-server's pids, by name."""
        return {**self.pids, **({"nats-server": self.nats_pid} if self.nats_pid else {})}

    @property
    def uses_postgresql(self) -> bool:
        return any(url.startswith("postgresql") for url in self.databases.values())

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far: each service, nats-server, every PostgreSQL process on this
        machine (only the bench uses it while it runs)."""
        return processes_cpu(self.processes(), postgresql=self.uses_postgresql)

    def cpu_sampler(self, interval: float) -> subprocess.Popen[str]:
        """`bench.sampler` on what `cpu()` reads, until terminated."""
        argv = [sys.executable, "-m", "bench.sampler", str(interval)]
        argv += ["--postgresql"] if self.uses_postgresql else []
        argv += [f"{name}={pid}" for name, pid in self.processes().items()]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    def counters(self) -> dict[str, dict[str, float]]:
        """Each service's counts so far, from its /metrics: what it sent its database
        (statements, BEGIN, COMMIT and ROLLBACK), the events it consumed and published, and in
        how many fetches and relay batches."""
        wanted = {
            "jejaring_db_round_trips_total": "round trips",
            "jejaring_events_consumed_total": "consumed",
            "jejaring_events_published_total": "published",
            "jejaring_consumer_batches_total": "fetches",
            "jejaring_outbox_batches_total": "relay batches",
        }
        out = {}
        for name in self.pids:
            text = httpx.get(self.url(name) + "/metrics", timeout=10).text
            counts = dict.fromkeys(wanted.values(), 0.0)
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name in wanted:
                        counts[wanted[s.name]] += s.value
            out[name] = counts
        return out

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name, pid in self.pids.items()}

    def pss(self) -> dict[str, float]:
        return {name: pss_mb(pid) for name, pid in self.pids.items()}

    async def nats(self) -> NATS:
        secrets = natsconfig.service_secrets(self.data_dir / "nats-secrets.json")
        return await nats.connect(
            f"nats://127.0.0.1:{self.nats_port}",
            user=natsconfig.service_user("referral"),
            password=secrets["referral"],
            inbox_prefix=inbox_prefix("referral"),  # referral's user may receive only there
        )


async def post_open_loop(
    stack: Stack, officer: dict[str, str], rate: float, seconds: float
) -> tuple[list[Post], float]:
    """Post `rate` cases a second for `seconds`, each on its slot whatever the answers do."""
    posts: list[Post] = []
    body = json.dumps(CASE).encode()
    async with LightClient(stack.url("intake"), officer) as client:

        async def one() -> None:
            # As an officer's app does: its own Idempotency-Key, and one retry with it when the
            # connection fails (a keep-alive connection the server closed as it was reused).
            sent, key, retried = time.time(), str(uuid.uuid4()), False
            while True:
                try:
                    status, answer = await client.post(
                        "/api/v1/cases", body, {"Idempotency-Key": key}, fresh=retried
                    )
                    post = Post(sent, time.time(), status, retried=retried)
                    if status == 201:
                        post.reference = json.loads(answer)["reference"]
                except (OSError, asyncio.IncompleteReadError) as exc:
                    if not retried:
                        retried = True
                        continue
                    post = Post(sent, time.time(), type(exc).__name__, retried=True)
                except TimeoutError as exc:
                    post = Post(sent, time.time(), type(exc).__name__, retried=retried)
                posts.append(post)
                return

        n = max(1, int(rate * seconds))
        tasks = []
        start = time.monotonic()
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        achieved = n / max(time.monotonic() - start, 1e-9) if n > 1 else rate
        await asyncio.gather(*tasks)
    return posts, achieved


class LightClient:
    """Just enough HTTP/1.1 to post JSON over kept-alive connections. The load generator's CPU
    shares the two cores with what it measures: httpx spent 4-6 ms of CPU a post, this a
    fraction of a millisecond (the bench reports it as `client`)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 30) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.timeout = timeout
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> LightClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()

    async def post(
        self, path: str, body: bytes, headers: dict[str, str], *, fresh: bool = False
    ) -> tuple[int, bytes]:
        """(status, body) of a POST; OSError or IncompleteReadError when the connection fails,
        TimeoutError after `timeout` seconds. `fresh`: on a new connection (a retry)."""
        reader, writer = None, None
        while self.idle and not fresh:
            reader, writer = self.idle.pop()
            if not reader.at_eof():
                break
            writer.close()  # the server closed it while idle (its keep-alive timeout)
            reader, writer = None, None
        if reader is None or writer is None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.head}{extra}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            async with asyncio.timeout(self.timeout):
                status, keep, answer = await self._response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status, answer

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip().lower()
        if fields.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                chunks.append(await reader.readexactly(size + 2))
            await reader.readuntil(b"\r\n")
            answer = b"".join(c[:-2] for c in chunks)
        else:
            answer = await reader.readexactly(int(fields.get("content-length", "0")))
        return status, fields.get("connection") != "close", answer


class Collector:
    """Reads back, after a phase, when each referral reached its stream and each message went."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.seen_seq = dict.fromkeys(PARTNERS, 0)
        self.on_stream: dict[str, list[float]] = {}  # case reference -> stream times

    async def read_streams(self) -> None:
        nc = await self.stack.nats()
        try:
            js = nc.jetstream()
            for slug in PARTNERS:
                stream = subjects.agency_stream(slug)
                last = (await js.stream_info(stream)).state.last_seq
                for seq in range(self.seen_seq[slug] + 1, last + 1):
                    msg = await js.get_msg(stream, seq)  # referral may not DIRECT.GET
                    if msg.data and msg.time and msg.subject and msg.subject.endswith(".requested"):
                        ref = json.loads(msg.data)["case_reference"]
                        self.on_stream.setdefault(ref, []).append(msg.time.timestamp())
                self.seen_seq[slug] = last
        finally:
            await nc.close()

    async def deliveries(self, references: set[str]) -> dict[str, list[tuple[str, float | None]]]:
        engine = db.create_engine(self.stack.databases["notify"])
        try:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT case_reference, status, sent_at FROM delivery "
                            "WHERE trigger = 'referral_requested'"
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        out: dict[str, list[tuple[str, float | None]]] = {}
        for ref, status, sent_at in rows:
            if ref in references:
                if isinstance(sent_at, str):
                    sent_at = dt.datetime.fromisoformat(sent_at)
                if sent_at is not None and sent_at.tzinfo is None:
                    sent_at = sent_at.replace(tzinfo=dt.UTC)
                out.setdefault(ref, []).append(
                    (status, sent_at.timestamp() if sent_at is not None else None)
                )
        return out

    async def settle(self, posts: list[Post], wait_s: float = 60) -> float | None:
        """Wait until every referral of these posts is on its stream and every message sent;
        fill in the times. Seconds from the last post sent until then (a late 201 counts too),
        or None on timeout."""
        ok = [p for p in posts if p.status == 201 and p.reference]
        refs = {p.reference for p in ok if p.reference}
        last_answer = max((p.answered for p in ok), default=time.time())
        last_sent = max((p.sent for p in posts), default=time.time())
        deadline = time.monotonic() + wait_s
        done_at: float | None = None
        while time.monotonic() < deadline:
            await self.read_streams()
            sent = await self.deliveries(refs)
            streams_done = all(len(self.on_stream.get(r, [])) >= len(PARTNERS) for r in refs)
            # at night in WITA a partner's non-urgent alert waits for the end of its quiet
            # hours, as designed: deferred is done; only the sent ones have a time
            sent_done = all(
                r in sent and all(status in ("sent", "deferred") for status, _ in sent[r])
                for r in refs
            )
            if streams_done and sent_done:
                done_at = max(
                    [t for r in refs for t in self.on_stream[r]]
                    + [t for r in refs for _, t in sent[r] if t is not None]
                    + [last_answer]
                )
                for p in ok:
                    assert p.reference is not None
                    p.to_stream = [t - p.answered for t in self.on_stream[p.reference]]
                    p.to_sent = [t - p.answered for _, t in sent[p.reference] if t is not None]
                return done_at - last_sent
            await asyncio.sleep(0.5)
        return None


async def run_phase(
    stack: Stack,
    collector: Collector,
    officer: dict[str, str],
    name: str,
    rate: float,
    seconds: float,
) -> Phase:
    peak = dict.fromkeys(SERVICES, 0.0)
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            for service, mb in stack.rss().items():
                peak[service] = max(peak[service], mb)
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    timeline = stack.cpu_sampler(0.5)
    counted_before = stack.counters()
    cpu_before = stack.cpu()
    client_before = time.process_time()
    posts, achieved = await post_open_loop(stack, officer, rate, seconds)
    client = time.process_time() - client_before  # posting only, not the reading back
    drain = await collector.settle(posts)
    # Once, as the load ends: the kernel walks every page table to answer (milliseconds of the
    # bench's own CPU each time), so it is not sampled with the resident memory.
    pss = stack.pss()
    cpu = {name: used - cpu_before[name] for name, used in stack.cpu().items()}
    cpu["client"] = client
    counted = {
        s: {k: v - counted_before[s][k] for k, v in n.items()} for s, n in stack.counters().items()
    }
    stop.set()
    await sampler
    timeline.terminate()
    cpu_timeline = [
        (line["t"], line["cpu"]) for line in map(json.loads, timeline.communicate()[0].splitlines())
    ]
    phase = Phase(
        name,
        rate,
        seconds,
        posts,
        peak,
        cpu,
        achieved,
        drain,
        statements={s: n["round trips"] for s, n in counted.items()},
        consumed={s: n["consumed"] for s, n in counted.items()},
        published={s: n["published"] for s, n in counted.items()},
        fetches={s: n["fetches"] for s, n in counted.items()},
        relay_batches={s: n["relay batches"] for s, n in counted.items()},
        cpu_timeline=cpu_timeline,
        pss_mb=pss,
    )
    print(
        f"  {name}: {rate:g} cases/s for {seconds:g} s, sent {achieved:.1f}/s, "
        f"errors {phase.errors}{phase.error_kinds()}, drained {drain if drain is None else round(drain, 2)} s, "
        f"p99 to stream {1000 * percentile([t for p in phase.ok for t in p.to_stream], 0.99):.0f} ms, "
        f"p99 to sent {1000 * percentile([t for p in phase.ok for t in p.to_sent], 0.99):.0f} ms"
        f", CPU ms per case {cpu_per_case(phase)}"
        f", database round trips per case {statements_per_case(phase)}"
        f", peak MB {' '.join(f'{s} {mb:.0f}' for s, mb in phase.rss_mb.items())}"
        f" -> {'sustained' if phase.sustained() else 'NOT sustained'}",
        flush=True,
    )
    return phase
