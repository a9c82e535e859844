"""What every service runs beside its HTTP API: database, NATS, provisioning, relay, consumers.

A service describes itself (streams it needs, consumers with their handlers, its migrations)
and `ServiceRuntime` does the rest: migrate at start, connect to NATS in the background (a
service starts, and stays up, while NATS is away), provision explicitly, run the outbox relay
and the consumers, and report readiness.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jejaring.shared import db
from jejaring.shared.messaging.connection import client_tls, connect, inbox_prefix
from jejaring.shared.messaging.consumer import Handler, IdempotentConsumer, Prepare
from jejaring.shared.messaging.inbox import PRUNE_INTERVAL_S, prune_inbox
from jejaring.shared.messaging.outbox import KeySource, OnSent, Outbox, OutboxRelay
from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    ProvisioningDrift,
    StreamSpec,
    ensure_consumer,
    ensure_stream,
)
from jejaring.shared.messaging.tables import inbox
from jejaring.shared.migrate import Schema
from jejaring.shared.settings import ServiceSettings
from jejaring.shared.tracing import Tracing

log = logging.getLogger(__name__)

EXIT_CONFIG = os.EX_CONFIG  # 78: provisioning drift that needs an operator
NOT_PROVISIONED_RETRY_S = 10.0
REPLAY_STOP_TIMEOUT_S = 30.0  # a consumer finishes the batch in hand before a replay


class NotProvisioned(RuntimeError):
    """A stream or consumer is missing or differs, and this service may not make it so."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is missing or differs from its specification, and this service's NATS "
            "user may not create or update it; run `jejaring provision`"
        )
        self.what = what


Hook = Callable[["ServiceRuntime"], Awaitable[None]]


def _fault_after_publish() -> Callable[[Sequence[int]], None] | None:
    """Fault injection for the system tests, off unless JEJARING_FAULT asks for it: the process
    dies (SIGKILL) right after its first PubAcks, before it marks those rows sent."""
    if os.environ.get("JEJARING_FAULT") != "kill-relay-after-puback":
        return None

    def die(published: Sequence[int]) -> None:
        if published:
            log.warning("fault injection: killing this process after the PubAck")
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    return die


def _fault_slow_handler(handler: Handler, ack_wait: float) -> Handler:
    """Fault injection for the system tests, off unless JEJARING_FAULT=slow-handler: the first
    message takes one and a half ack-waits to handle."""
    if os.environ.get("JEJARING_FAULT") != "slow-handler":
        return handler
    slow_once = [True]

    async def slow(session: AsyncSession, envelope: Any) -> None:
        if slow_once[0]:
            slow_once[0] = False
            log.warning("fault injection: a handler slower than the ack-wait")
            await asyncio.sleep(ack_wait * 1.5)
        await handler(session, envelope)

    return slow


def periodic(
    name: str,
    interval: float,
    job: Callable[[AsyncSession], Awaitable[object]],
    *,
    first_delay: float = 0.0,
    transaction: bool = True,
    logger: logging.Logger | None = None,
) -> Hook:
    """A worker (for `ServiceRuntime.workers`) that runs `job` every `interval` seconds, the
    first time after `first_delay`, until the runtime stops. Each run has its own session, and
    its own transaction unless the job opens its own (one that waits on the network must not
    hold SQLite's write lock). A run that fails is logged (on `logger`, by default this
    module's) as `name` and tried again at the next interval."""

    async def worker(runtime: ServiceRuntime) -> None:
        await asyncio.sleep(first_delay)
        while not runtime.stopping:
            try:
                async with runtime.sessions() as session:
                    if transaction:
                        async with session.begin():
                            await job(session)
                    else:
                        await job(session)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                (logger or log).warning(
                    "periodic job failed, will retry",
                    extra={"job": name, "error": type(exc).__name__},
                )
            await asyncio.sleep(interval)

    return worker


@dataclass
class Subscription:
    spec: ConsumerSpec
    handler: Handler
    # a stream outsiders write: dead letters keep no body, their log lines are few (consumer.py)
    outsiders: bool = False
    # fetches what the handler needs over the network before its transaction (consumer.py)
    prepare: Prepare | None = None
    # waits this long for a fetch's followers, to handle them in one transaction (consumer.py)
    linger: float = 0.0


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    migrations: Path
    streams: Sequence[StreamSpec] = ()
    subscriptions: Sequence[Subscription] = ()
    on_started: Sequence[Hook] = ()
    on_connected: Sequence[Hook] = ()
    # Long-running jobs (schedulers, reconcilers) started once messaging runs; each is
    # restarted by the job itself on error, and cancelled at stop.
    workers: Sequence[tuple[str, Hook]] = ()
    # Called as the relay marks rows sent, in that transaction (outbox.OnSent).
    on_sent: OnSent | None = None
    # opens the outbox rows stored sealed (outbox.py), for a service that writes such rows
    outbox_keys: KeySource | None = None
    schema: Schema = field(init=False)
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    outbox: Outbox = field(init=False)
    tracing: Tracing = field(init=False)
    nc: NATS | None = field(default=None, init=False)
    js: JetStreamContext | None = field(default=None, init=False)
    relay: OutboxRelay | None = field(default=None, init=False)
    consumers: list[IdempotentConsumer] = field(default_factory=list, init=False)
    provisioned: bool = field(default=False, init=False)
    not_provisioned: NotProvisioned | None = field(default=None, init=False)
    # The server's recent permission refusals, numbered: (n, message).
    _refusals: collections.deque[tuple[int, str]] = field(
        default_factory=lambda: collections.deque(maxlen=50), init=False
    )
    _refusal_count: int = field(default=0, init=False)
    stopping: bool = field(default=False, init=False)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.schema = Schema(
            self.settings.db_url,
            self.migrations,
            lock_name=f"jejaring-{self.name}",
            lock_timeout_ms=self.settings.db_lock_timeout_ms,
        )
        self.engine = self.settings.create_engine()
        self.sessions = db.session_factory(self.engine)
        self.outbox = Outbox(source=f"/jejaring/{self.settings.service}")
        self.tracing = Tracing.for_service(self.name, endpoint=self.settings.otlp_endpoint)

    @property
    def name(self) -> str:
        return self.settings.service

    async def start(self) -> None:
        """Migrate the database unless serve() did (retrying while it is unreachable), then go
        on in background."""
        await self.schema.ensure(self.engine)
        for hook in self.on_started:
            await hook(self)
        self._spawn(self._connect_and_run(), "nats")
        prune = periodic(
            "inbox-prune",
            PRUNE_INTERVAL_S,
            lambda _session: prune_inbox(self.sessions),
            first_delay=30.0,  # after start-up's own work
            transaction=False,  # prune_inbox commits batch by batch
        )
        self._spawn(prune(self), "inbox-prune")

    async def stop(self) -> None:
        """Stop background work, close NATS (flushing), dispose of the database pool."""
        self.stopping = True
        if self.relay is not None:
            self.relay.stop()
        for consumer in self.consumers:
            consumer.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=5)
            if stuck:
                log.warning(
                    "background tasks did not stop in time",
                    extra={"tasks": [t.get_name() for t in stuck]},
                )
        if self.nc is not None and not self.nc.is_closed:
            # Not drain(): every publish already waited for its PubAck and unacked messages
            # come back to the next consumer, so there is nothing to flush but the socket.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), timeout=5)
        await self.engine.dispose()
        # Off the event loop: the exporter's last batch goes out over blocking HTTP.
        await asyncio.to_thread(self.tracing.shutdown)

    async def readiness(self) -> dict[str, str]:
        """Each dependency and whether it answers; ready only if all say ok."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(db.ping(self.engine), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        connected = self.nc is not None and self.nc.is_connected
        checks["nats"] = "ok" if connected else "disconnected"
        if self.provisioned:
            checks["streams"] = "ok"
        elif self.not_provisioned is not None:
            checks["streams"] = str(self.not_provisioned)
        else:
            checks["streams"] = "not provisioned"
        return checks

    async def provision(
        self, streams: Sequence[StreamSpec], consumers: Sequence[ConsumerSpec]
    ) -> None:
        """Ensure streams and consumers exist as specified. Where they do, this needs only
        their INFO; raises NotProvisioned when one is missing (or differs) and the server
        refused this service the creation (or update)."""
        js = self.js
        assert js is not None
        for spec in streams:
            call = functools.partial(ensure_stream, js, spec)
            await self._ensure(f"stream {spec.name}", spec.name, call)
        for cspec in consumers:
            what = f"consumer {cspec.durable} on stream {cspec.stream}"
            await self._ensure(what, cspec.stream, functools.partial(ensure_consumer, js, cspec))

    async def _ensure(self, what: str, stream: str, call: Callable[[], Awaitable[object]]) -> None:
        before = self._refusal_count
        try:
            await call()
        except TimeoutError:
            # A request the server refuses is dropped with a permissions violation (reported
            # to the error callback), so the caller sees only a timeout.
            if self.nc is not None and not self.nc.is_closed:
                with contextlib.suppress(Exception):
                    await self.nc.flush(timeout=2)
            # The refusal names the API subject, and so the stream (other calls may run at
            # the same time: a partner added while the runtime re-provisions).
            for n, refusal in self._refusals:
                quoted = refusal.upper().split('"')
                tokens = quoted[1].split(".") if len(quoted) > 2 else []
                if n > before and tokens[:2] == ["$JS", "API"] and stream.upper() in tokens[2:]:
                    raise NotProvisioned(what) from None
            raise

    def _on_refused(self, violation: str) -> None:
        self._refusal_count += 1
        self._refusals.append((self._refusal_count, violation))

    async def _connect_and_run(self) -> None:
        s = self.settings
        self.nc = await connect(
            s.nats_url,
            name=f"jejaring-{self.name}",
            user=s.nats_user,
            password=s.nats_password.get_secret_value() if s.nats_password else None,
            tls=client_tls(s.nats_tls_ca_file, s.nats_tls_cert_file, s.nats_tls_key_file)
            if s.nats_tls_ca_file or s.nats_tls_cert_file
            else None,
            tls_hostname=s.nats_tls_hostname,
            inbox_prefix=inbox_prefix(self.name),
            on_reconnected=self._on_reconnected,
            on_refused=self._on_refused,
        )
        self.js = self.nc.jetstream(timeout=5)
        delay = 0.5
        while True:
            try:
                await self._provision_all()
                break
            except ProvisioningDrift as exc:
                self._fatal(exc)
            except NotProvisioned as exc:
                # Not ready, and said once (again only if what is missing changes): the
                # operator runs the provisioner; this service then goes on by itself.
                if self.not_provisioned is None or self.not_provisioned.what != exc.what:
                    log.error(str(exc), extra={"missing": exc.what})
                self.not_provisioned = exc
                await asyncio.sleep(NOT_PROVISIONED_RETRY_S)
            except Exception as exc:
                log.warning("provisioning failed, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if self.not_provisioned is not None:
            log.info(
                "provisioned by the operator; starting",
                extra={"was_missing": self.not_provisioned.what},
            )
        self.not_provisioned = None
        self.provisioned = True
        self.relay = OutboxRelay(
            sessions=self.sessions,
            js=self.js,
            outbox_=self.outbox,
            poll_interval=s.relay_poll_interval_s,
            after_publish=_fault_after_publish(),
            on_sent=self.on_sent,
            keys=self.outbox_keys,
        )
        self._spawn(self.relay.run(), "relay")
        for sub in self.subscriptions:
            self._start_consumer(sub)
        for name, worker in self.workers:
            self._spawn(worker(self), name)
        log.info("messaging started", extra={"consumers": [c.spec.durable for c in self.consumers]})

    def _start_consumer(self, sub: Subscription) -> None:
        assert self.js is not None
        consumer = IdempotentConsumer(
            service=self.name,
            spec=sub.spec,
            handler=_fault_slow_handler(sub.handler, sub.spec.ack_wait_s),
            sessions=self.sessions,
            js=self.js,
            outsiders=sub.outsiders,
            tracing=self.tracing,
            prepare=sub.prepare,
            linger=sub.linger,
        )
        self.consumers.append(consumer)
        self._spawn(consumer.run(), f"consumer:{sub.spec.durable}")

    async def replay(self, reset: Callable[[AsyncSession], Awaitable[object]]) -> None:
        """Read every stream this service consumes again from its first message, through the
        same handlers: stop the consumers (each finishes the batch in hand, or is cancelled
        after REPLAY_STOP_TIMEOUT_S), delete their durables, run `reset` (which empties what
        the handlers built) and forget the consumers' inbox rows in one transaction, create
        the durables again (`deliver_policy` all) and start the consumers, also when a step
        failed (they then go on where their durables are). Needs the right to delete and
        create its own durables."""
        if not self.provisioned or self.js is None:
            raise RuntimeError("messaging has not started: nothing to replay yet")
        durables = {sub.spec.durable for sub in self.subscriptions}
        running = [c for c in self.consumers if c.spec.durable in durables]
        names = {f"{self.name}:consumer:{c.spec.durable}" for c in running}
        tasks = [t for t in self._tasks if t.get_name() in names]
        for consumer in running:
            consumer.stop()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=REPLAY_STOP_TIMEOUT_S)
            for task in stuck:  # its transaction rolls back; its messages were not acked
                task.cancel()
            if stuck:
                await asyncio.wait(stuck)
        self.consumers = [c for c in self.consumers if c not in running]
        try:
            for sub in self.subscriptions:
                with contextlib.suppress(NotFoundError):
                    await self.js.delete_consumer(sub.spec.stream, sub.spec.durable)
            async with self.sessions() as session, session.begin():
                await reset(session)
                await session.execute(delete(inbox).where(inbox.c.consumer.in_(durables)))
            await self.provision([], [sub.spec for sub in self.subscriptions])
        finally:
            for sub in self.subscriptions:
                self._start_consumer(sub)
        log.info("replaying from the first message", extra={"consumers": sorted(durables)})

    async def _on_reconnected(self) -> None:
        # A server restarted on an empty store has lost our streams: ensure them again.
        if self.provisioned:
            self._spawn(self._reprovision(), "reprovision")

    async def _provision_all(self) -> None:
        await self.provision(self.streams, [sub.spec for sub in self.subscriptions])
        for hook in self.on_connected:
            await hook(self)

    async def _reprovision(self) -> None:
        try:
            await self._provision_all()
        except ProvisioningDrift as exc:
            self._fatal(exc)
        except NotProvisioned as exc:
            log.error(str(exc), extra={"missing": exc.what})
        except Exception as exc:
            log.warning("re-provisioning failed", extra={"error": type(exc).__name__})

    def _fatal(self, exc: ProvisioningDrift) -> None:
        log.critical("provisioning drift, stopping", extra={"detail": str(exc)})
        logging.shutdown()
        os._exit(EXIT_CONFIG)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}:{name}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.critical(
                "background task died",
                extra={
                    "task": task.get_name(),
                    "error": type(exc).__name__,
                    "detail": str(exc)[:300],
                },
                exc_info=exc,
            )
