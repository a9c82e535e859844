"""The whole system as real processes, for fault and soak tests: nats-server and the three
services on one database each (PostgreSQL when configured, SQLite files otherwise), and the
invariants that must hold once a fault is over."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest
from sqlalchemy import TextClause, text

from jejaring.shared import db
from jejaring.shared.contract import envelope
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import PartnerReplied
from jejaring.shared.db import UtcDateTime
from jejaring.shared.messaging.natsserver import NatsServer, free_port, free_ports
from jejaring.testing import THREE_WAY_CASE, THREE_WAY_REFERRALS, identity_env, wait_status

# Each service has its own admin token; intake's makes the people.
ADMIN_TOKENS = {
    s: f"admin-token-for-{s}-fault-tests-000000" for s in ("intake", "referral", "notify", "report")
}
ADMIN = ADMIN_TOKENS["intake"]
IDENTITY_KEY = "identity-key-for-system-tests-0123456789"
EXPECTED = THREE_WAY_REFERRALS
PARTNERS = sorted({p for _, p in EXPECTED})
SERVICES = ("intake", "referral", "notify", "report")
READER, READER_PASSWORD = "test-reader", "test-reader-password-0001"
CASE = THREE_WAY_CASE


WITA = ZoneInfo("Asia/Makassar")
DELIVERIES = text(
    "SELECT referral_id, status, quiet_start, quiet_end, created_at, next_attempt_at "
    "FROM delivery WHERE trigger = 'referral_requested'"
).columns(created_at=UtcDateTime(), next_attempt_at=UtcDateTime())


async def _unheard(exc: Exception) -> None:
    """A client's error callback for a node of a cluster killed on purpose: it connects to
    another, and a traceback per poll says nothing."""


def service_of(process: str) -> str:
    """The service a process runs: `referral-2`, a second replica, runs referral."""
    return process.split("-")[0]


def norm(value: Any) -> str:
    """A UUID as SQLite (hex) and PostgreSQL (dashed) both give it."""
    return str(value).replace("-", "").lower()


def deferred_to_the_end_of_quiet_hours(row: Any) -> bool:
    """An alert that fell in its recipient's quiet hours waits, planned for the minute they end
    (the seed contacts of Posbakum and Bikksa keep 21:00-07:00 WITA). Whatever the hour the
    tests run at, that is as correct an outcome as `sent`; the send at the end of the quiet
    hours is proven with a clock the test controls in notify's test_delivery.py."""
    if row.status != "deferred" or not row.quiet_start or not row.quiet_end:
        return False
    until = row.next_attempt_at.astimezone(WITA)
    start, end = dt.time.fromisoformat(row.quiet_start), dt.time.fromisoformat(row.quiet_end)
    if until.timetz().replace(tzinfo=None) != end:
        return False
    on = dt.date.min
    length = (dt.datetime.combine(on, end) - dt.datetime.combine(on, start)) % dt.timedelta(days=1)
    # queued inside those quiet hours (or a moment before they began, claimed once they had)
    return until - length - dt.timedelta(minutes=1) <= row.created_at < until


@dataclass
class Figures:
    cases: int
    referrals_expected: int
    referrals_found: int
    duplicates: int
    notifications: int
    deferred: int
    dlq: int
    seconds_to_converge: float

    def line(self) -> str:
        return (
            f"cases {self.cases}, referrals expected {self.referrals_expected} / found "
            f"{self.referrals_found}, duplicates {self.duplicates}, notifications "
            f"{self.notifications} ({self.deferred} deferred for quiet hours), DLQ {self.dlq}, "
            f"converged in {self.seconds_to_converge:.1f} s"
        )


@dataclass
class System:
    tmp: Path
    dbs: dict[str, str]
    nats: NatsServer
    # a cluster's nodes (`nats` one of them): the services are given all of them
    cluster: list[NatsServer] = field(default_factory=list)
    ports: dict[str, int] = field(
        default_factory=lambda: dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    )
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    officer: dict[str, str] = field(default_factory=dict)
    # NATS user -> its password (services) or NKey seed (partners)
    credentials: dict[str, str] = field(default_factory=dict)
    posted: int = 0
    retried_posts: int = 0
    unrecorded_posts: int = 0

    @property
    def nats_url(self) -> str:
        return ",".join(n.url for n in self.cluster) if self.cluster else self.nats.url

    def env(self, name: str, **extra: str) -> dict[str, str]:
        """The environment of process `name`: a service, or another replica of one
        (`referral-2`: a port of its own, the service's database and settings)."""
        service = service_of(name)
        p = service.upper() + "_"
        if name not in self.ports:
            self.ports[name] = free_port()
        return {
            **os.environ,
            p + "DATABASE_URL": self.dbs[service],
            p + "NATS_URL": self.nats_url,
            p + "PORT": str(self.ports[name]),
            p + "DATA_DIR": str(self.tmp / "data"),
            p + "RELAY_POLL_INTERVAL_S": "0.5",
            "REFERRAL_RECONCILE_INTERVAL_S": "5",
            "NOTIFY_DISPATCH_INTERVAL_S": "0.2",
            p + "ADMIN_TOKEN": ADMIN_TOKENS[service],
            **identity_env(service, IDENTITY_KEY),
            **extra,
        }

    def start(self, name: str, **extra: str) -> None:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"jejaring.{service_of(name)}"],
            env=self.env(name, **extra),
            stdout=log,
            stderr=log,
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, *names: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name in names or SERVICES:
            while True:
                try:
                    if httpx.get(f"{self.url(name)}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert self.procs[name].poll() is None, f"{name} exited: see {self.tmp / name}.log"
                assert time.monotonic() < deadline, f"{name} not ready"
                time.sleep(0.1)

    def wait_healthy(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"{name} not up")

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for node in self.cluster or [self.nats]:
            node.stop()

    def post_cases(self, n: int, *, pause: float = 0.0, give_up_after: float = 120) -> None:
        """Post n cases as an officer's app would: each with its own Idempotency-Key, and a post
        refused or unanswered while a part is down sent again with the same key until recorded.
        Every case is then recorded exactly once, whatever the fault did to the first answer.
        With several intake replicas a post one does not answer goes to the next, as behind a
        load balancer."""
        intakes = [n for n in self.ports if service_of(n) == "intake"]
        with contextlib.ExitStack() as opened:
            clients = [
                opened.enter_context(
                    httpx.Client(base_url=self.url(n), headers=self.officer, timeout=10)
                )
                for n in intakes
            ]

            def post(key: str) -> bool:
                for client in clients:
                    try:
                        r = client.post(
                            "/api/v1/cases", json=CASE, headers={"Idempotency-Key": key}
                        )
                    except httpx.HTTPError:
                        continue
                    if r.status_code == 201:
                        return True
                return False

            pending = []
            for _ in range(n):
                key = str(uuid.uuid4())
                if not post(key):
                    pending.append(key)
                time.sleep(pause)
            self.retried_posts += len(pending)
            deadline = time.monotonic() + give_up_after
            while pending and time.monotonic() < deadline:
                time.sleep(0.5)
                pending = [key for key in pending if not post(key)]
            self.unrecorded_posts += len(pending)
            self.posted += n

    def burst_in_background(self, n: int, pause: float = 0.02) -> threading.Thread:
        thread = threading.Thread(target=self.post_cases, args=(n,), kwargs={"pause": pause})
        thread.start()
        return thread

    # --- the invariants ------------------------------------------------------------------------

    async def _rows(self, name: str, sql: str | TextClause) -> list[Any]:
        engine = db.create_engine(self.dbs[name])
        try:
            async with engine.connect() as conn:
                statement = text(sql) if isinstance(sql, str) else sql
                return list((await conn.execute(statement)).all())
        finally:
            await engine.dispose()

    async def _stream(self, stream: str) -> list[Any]:
        # on a server with users, as the test's reader (secured_system)
        user, password = (READER, READER_PASSWORD) if self.credentials else (None, None)
        nc = await nats.connect(
            self.nats_url.split(","), user=user, password=password, error_cb=_unheard
        )
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            out = []
            if not info.state.messages:
                return out
            for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
                try:
                    out.append(await js.get_msg(stream, seq))
                except nats.js.errors.NotFoundError:
                    continue
            return out
        finally:
            await nc.close()

    async def check(self, expected_dlq: int) -> Figures | str:
        """The figures if every invariant holds, else the first one that does not."""
        cases = await self._rows("intake", "SELECT id FROM case_record")
        refs = await self._rows(
            "referral", "SELECT id, case_id, service, partner_slug FROM referral"
        )
        by_case: dict[str, set[tuple[str, str]]] = {}
        for r in refs:
            by_case.setdefault(norm(r.case_id), set()).add((r.service, r.partner_slug))
        dup_keys = sum(
            c - 1
            for c in Counter((str(r.case_id), r.service, r.partner_slug) for r in refs).values()
        )
        for case in cases:
            if by_case.get(norm(case.id)) != EXPECTED:
                return f"case {case.id} has referrals {by_case.get(norm(case.id))}"
        if len(refs) != 3 * len(cases):
            return f"{len(refs)} referrals for {len(cases)} cases"
        duplicates = dup_keys
        for slug in PARTNERS:
            msgs = await self._stream("AGENCY_" + slug.upper().replace("-", "_"))
            ids = Counter(m.headers["Nats-Msg-Id"] for m in msgs if m.headers)
            referral_ids = Counter(norm(m.headers.get("ce-subject")) for m in msgs if m.headers)
            duplicates += sum(c - 1 for c in ids.values()) + sum(
                c - 1 for c in referral_ids.values()
            )
            wanted = {norm(r.id) for r in refs if r.partner_slug == slug}
            if set(referral_ids) != wanted:
                return f"stream of {slug}: {len(referral_ids)} referrals, database {len(wanted)}"
        sent = await self._rows("notify", DELIVERIES)
        per_referral = Counter(norm(r.referral_id) for r in sent)
        duplicates += sum(c - 1 for c in per_referral.values())
        deferred = sum(map(deferred_to_the_end_of_quiet_hours, sent))
        settled = deferred + sum(r.status == "sent" for r in sent)
        if len(per_referral) != len(refs) or settled < len(sent):
            return f"{len(per_referral)} referrals notified ({Counter(r.status for r in sent)}) of {len(refs)}"
        dlq = await self._stream("DLQ")
        if len(dlq) != expected_dlq:
            return f"DLQ holds {len(dlq)}, expected {expected_dlq}"
        for name in SERVICES:
            (unsent,) = await self._rows(name, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            if unsent[0]:
                return f"{name} outbox holds {unsent[0]} unsent"
        if duplicates:
            return f"{duplicates} duplicates"
        return Figures(
            len(cases), 3 * len(cases), len(refs), duplicates, len(sent), deferred, len(dlq), 0.0
        )

    def converge(self, *, expected_dlq: int = 0, timeout: float = 90) -> Figures:
        started = time.monotonic()
        last: Figures | str = "not checked"
        while time.monotonic() - started < timeout:
            try:
                last = asyncio.run(self.check(expected_dlq))
            except nats.errors.TimeoutError:  # a killed node's streams are electing a leader
                last = "a stream did not answer in time"
            if isinstance(last, Figures):
                last.seconds_to_converge = time.monotonic() - started
                print(f"\n  {last.line()}; posts retried after the fault: {self.retried_posts}")
                return last
            time.sleep(0.5)
        raise AssertionError(f"not converged after {timeout} s: {last}")


@contextlib.contextmanager
def running(s: System, env: dict[str, dict[str, str]] | None = None) -> Iterator[System]:
    """The four services started on `s` (each with its `env`), ready, with an officer."""
    try:
        for name in SERVICES:
            s.start(name, **(env or {}).get(name, {}))
        s.wait_ready()
        user = httpx.post(
            f"{s.url('intake')}/api/v1/users",
            json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": "64.71.04.1003"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()
        s.officer = {"Authorization": f"Bearer {user['token']}"}
        yield s
    finally:
        s.stop_all()


@pytest.fixture
def system(tmp_path: Path, system_dbs: dict[str, str]) -> Iterator[System]:
    nats_server = NatsServer(
        store_dir=tmp_path / "jetstream", log_file=tmp_path / "nats.log"
    ).start()
    with running(System(tmp_path, system_dbs, nats_server)) as s:
        yield s


# --- with the generated NATS users ------------------------------------------------------------


@pytest.fixture
def secured_system(tmp_path: Path, system_dbs: dict[str, str]) -> Iterator[System]:
    """The system as `system` makes it, on a nats-server with the users and permissions
    `jejaring nats-config` generates: each service and each partner of PARTNERS logs in with
    its own user (`System.credentials`)."""
    from jejaring.cli import natsconfig
    from jejaring.cli.partners import new_user_seed
    from jejaring.cli.stack import provision

    passwords = {name: f"{name}-nats-password-0001" for name in natsconfig.IDENTITIES}
    seeds = {slug: new_user_seed() for slug in PARTNERS}
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    nats_server = NatsServer(store_dir=tmp_path / "jetstream", log_file=tmp_path / "nats.log")
    auth = natsconfig.authorization(
        {name: natsconfig.bcrypt_hash(p) for name, p in passwords.items()},
        [natsconfig.PartnerKey(slug, key, until) for slug, (_, key) in seeds.items()],
    )
    # The test's own eyes: a user that may read every stream (no service may any more).
    reader = {
        "user": READER,
        "password": natsconfig.bcrypt_hash(READER_PASSWORD),
        "permissions": {
            "publish": {
                "allow": [
                    "$JS.API.STREAM.INFO.>",
                    "$JS.API.STREAM.MSG.GET.>",
                    "$JS.API.CONSUMER.INFO.>",
                ]
            },
            "subscribe": {"allow": ["_INBOX.>"]},
        },
    }
    nats_server.write_config(
        auth.replace("users = [\n", f"users = [\n    {json.dumps(reader)},\n", 1)
    )
    nats_server.start()
    # As `jejaring up` and compose's init step do: the services may not create the contract.
    asyncio.run(provision(nats_server.url, passwords[natsconfig.PROVISIONER]))
    env = {
        name: {
            name.upper() + "_NATS_USER": natsconfig.service_user(name),
            name.upper() + "_NATS_PASSWORD": passwords[name],
        }
        for name in SERVICES
    }
    s = System(tmp_path, system_dbs, nats_server)
    s.credentials = {natsconfig.service_user(n): passwords[n] for n in SERVICES} | {
        f"partner-{slug}": seed.decode() for slug, (seed, _) in seeds.items()
    }
    with running(s, env) as s:
        yield s


# --- the web app, and a partner that sends junk (the metrics tests) -----------------------------


@pytest.fixture
def web(secured_system: System) -> Iterator[str]:
    """The web app, a real process beside the services, as `jejaring up` runs it."""
    s = secured_system
    port = free_port()
    env = {
        **os.environ,
        "WEB_PORT": str(port),
        "WEB_DATA_DIR": str(s.tmp / "web-data"),
        "WEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **{f"WEB_{n.upper()}_URL": s.url(n) for n in SERVICES},
    }
    log = open(s.tmp / "web.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "jejaring.web"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_status(port, 200, timeout=60)  # its /readyz
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


async def partner_sends_junk(s: System, slug: str) -> None:
    """A partner's reply whose CloudEvent headers are right and whose body is not a reply."""
    from jejaring.cli import natsconfig

    nc = await nats.connect(
        s.nats.url,
        nkeys_seed_str=s.credentials[f"partner-{slug}"],
        inbox_prefix=natsconfig.partner_inbox(slug),
    )
    try:
        reply = PartnerReplied(
            referral_id=uuid.uuid4(),
            partner_slug=slug,
            status=ReferralStatus.ACCEPTED,
            replied_at=dt.datetime.now(dt.UTC),
        )
        out = envelope.encode(reply, source=f"/partners/{slug}")
        await nc.jetstream(timeout=5).publish(
            out.subject, b'{"referral_id": "not a uuid", "status": 42}', headers=out.headers
        )
    finally:
        await nc.close()


# --- `jejaring up`, the embedded stack, as an operator runs it -------------------------------------

JEJARING = str(Path(sys.executable).parent / "jejaring")


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    names = ("NATS", "NATS_MONITOR", "INTAKE", "REFERRAL", "NOTIFY", "REPORT", "WEB")
    ports = free_ports(len(names))
    return {
        **os.environ,
        "JEJARING_DATA_DIR": str(tmp_path / "data"),
        **{f"JEJARING_{n}_PORT": str(p) for n, p in zip(names, ports, strict=True)},
    }


@pytest.fixture
def stack(stack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [JEJARING, "up"], env=stack_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
