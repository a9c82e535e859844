"""Idempotent JetStream consumers with retries and a dead-letter queue (docs/design.md §5).

For each message: decode the CloudEvent, then in one transaction record its id in the `inbox`
and run the handler; commit; then `ack_sync`. A message whose id is already in the inbox changes
nothing and is acked. A transient error (database or network) is nak'ed with a growing delay so
JetStream redelivers it; a poison message (not a valid event, or refused by the handler as
such), or one that keeps failing, is published to `DLQ` with the reason and its original headers
before it is terminated. Nothing is dropped silently: if even the DLQ cannot be reached, the
message is nak'ed and comes back.

A well-formed event of a type this version does not know (a newer producer's) is not poison: it
is acked, counted in `stats.unknown_types` and logged with its type and id, and the handler never
sees it. It gets no inbox row: the inbox records effects that happened, and nothing happened;
a row would make a later version that knows the type skip the event as a duplicate on replay.

A stream that outsiders write (partners' replies; `outsiders=True`) has its messages
dead-lettered without their body and with only their CloudEvents headers, cut short, and logged
at most once a second per subject with the count of the others: a partner sending junk at full
speed must not make the DLQ hold full copies of it (or its free text for 90 days), nor the log
grow by a line a message.

When a fetch brings several messages (the consumer is behind), they share one transaction: each
still gets its own inbox row and handler run, but the BEGIN/COMMIT and the session are paid once,
so a backlog drains faster the longer it is. If anything in such a batch fails, the transaction
rolls back and each message is processed alone, so only the failing one is retried or
dead-lettered. A consumer off the latency path (a read model) may `linger`: when a fetch brings
fewer than a batch, it waits that long and takes what arrived meanwhile into the same
transaction (a case's referral events come three at a time, a few milliseconds apart).

A `prepare` step may run for each message before its transaction opens: what must come over the
network (a case's data key) is fetched there, so no transaction, and on SQLite no write lock,
is held while waiting on it. A key service that does not answer (`KeysUnavailable`) is as
transient as a database outage: the message is retried for as long as it lasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.shared import metrics
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import (
    NATS_MSG_ID,
    Envelope,
    EnvelopeError,
    UnknownEventType,
    decode,
)
from jejaring.shared.db import insert_or_ignore, is_transient_db_error
from jejaring.shared.logs import Sparse
from jejaring.shared.messaging.keys import KeysUnavailable
from jejaring.shared.messaging.provision import ConsumerSpec
from jejaring.shared.messaging.tables import inbox
from jejaring.shared.refusals import Refusal
from jejaring.shared.tracing import Tracing

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Runs before the handler's transaction opens (its errors count as the handler's).
Prepare = Callable[[Envelope], Awaitable[None]]

_INBOX_INSERT = insert_or_ignore(inbox)
# How long the fetch of the messages behind the first one may take at least. Those the stream
# said were pending come at once; this bounds the wait when another replica took them first,
# and for a lingering consumer (which waits at least as long as it lingers) when fewer than a
# batch arrived: the server answers such a request when it expires. 2 ms was too short on a
# loaded machine, where the answer alone took longer.
_FOLLOWERS_WAIT = 0.05

DLQ_REASON = "Jejaring-DLQ-Reason"
DLQ_SERVICE = "Jejaring-DLQ-Service"
DLQ_CONSUMER = "Jejaring-DLQ-Consumer"
DLQ_SUBJECT = "Jejaring-DLQ-Original-Subject"
DLQ_DELIVERIES = "Jejaring-DLQ-Deliveries"
DLQ_BODY_DROPPED = "Jejaring-DLQ-Body-Dropped"  # the size of the body left out, in bytes
# What a dead letter without its body keeps of the original headers, each cut to 200 characters.
_KEPT_HEADERS = ("ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject")


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never be processed; it goes to the DLQ.

    The text is an operator-facing reason: ids and field names, never personal data.
    """


def retry_delay(deliveries: int, *, base: float = 0.5, cap: float = 10.0) -> float:
    """Backoff before redelivery number `deliveries` + 1: 0.5 s, 1 s, 2 s, … capped at 10 s.

    The cap bounds how long an urgent case waits after the database or a peer comes back
    (with a 30 s cap, one ten-second PostgreSQL outage took 48 s to converge).
    """
    return float(min(cap, base * 2 ** max(0, deliveries - 1)))


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    unknown_types: int = 0
    last_error: str | None = field(default=None)


class IdempotentConsumer:
    """Pulls from one durable consumer and runs `handler` once per message id."""

    def __init__(
        self,
        *,
        service: str,
        spec: ConsumerSpec,
        handler: Handler,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        batch: int = 50,
        fetch_timeout: float = 1.0,
        max_attempts: int = 8,
        outsiders: bool = False,
        tracing: Tracing | None = None,
        prepare: Prepare | None = None,
        linger: float = 0.0,
    ) -> None:
        self.service = service
        self.spec = spec
        self.handler = handler
        self.prepare = prepare
        self.sessions = sessions
        self.js = js
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        # Seconds to wait, once a fetch brought fewer than `batch`, for what follows it to
        # arrive and share its transaction (a consumer off the latency path: read models).
        self.linger = linger
        # Attempts before a message that keeps failing for a non-transient reason is given up
        # on (dead-lettered). Transient errors retry for as long as the outage lasts: the
        # consumers have no max_deliver, so JetStream never discards a message on its own.
        self.max_attempts = max_attempts
        self.outsiders = outsiders
        self._sparse = Sparse(seconds=1.0)  # outsiders' dead letters: a line a second a subject
        self.stats = ConsumerStats()
        self._running = True
        # Each event handled in a span continuing its producer's trace, its ids on every log line.
        self.tracing = tracing or Tracing.for_service(service)

    def stop(self) -> None:
        """Finish the message in hand, then leave the loop (cancellation alone is not enough:
        a fetch may swallow it)."""
        self._running = False

    async def run(self) -> None:
        """Consume until stopped or cancelled; a NATS outage just pauses the loop."""
        sub = None
        while self._running:
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe_bind(self.spec.durable, self.spec.stream)
                try:
                    msgs = await self._fetch(sub)
                except (TimeoutError, NatsTimeoutError):
                    continue
                await self.process_batch(msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "consumer loop error, retrying",
                    extra={"consumer": self.spec.durable, "error": type(exc).__name__},
                )
                await asyncio.sleep(1.0)

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """The next message as soon as there is one, with what waits behind it (up to a batch).

        nats-py's fetch of a whole batch that has to wait for its first message may keep it
        while it waits for more: at 20 cases/s referral's consumer got the cases two at a time
        for about a second after a fetch that found nothing, the first of each pair held until
        the next arrived (50 ms; the bench's p99 to the partner's stream went from about 25 to
        70 ms in a run). So one message is asked for, then as many as the stream said were
        pending behind it; a lingering consumer waits, then takes whatever arrived."""
        msgs: list[Msg] = await sub.fetch(1, timeout=self.fetch_timeout)
        if self.linger:
            await asyncio.sleep(self.linger)
            more = self.batch - 1
        else:
            more = min(self.batch - 1, msgs[0].metadata.num_pending or 0)
        if more > 0:
            with contextlib.suppress(TimeoutError, NatsTimeoutError):
                msgs += await sub.fetch(more, timeout=max(self.linger, _FOLLOWERS_WAIT))
        return msgs

    async def process_batch(self, msgs: list[Msg]) -> None:
        """Handle fetched messages in one transaction, or one by one if that fails."""
        metrics.CONSUMER_BATCHES.labels(self.spec.durable).inc()
        decoded = []
        for msg in msgs:
            envelope = await self._decode(msg)
            if envelope is not None:
                decoded.append((msg, envelope))
        if len(decoded) > 1 and self._running:
            try:
                async with self._keep_alive(*(m for m, _ in decoded)):
                    for _, envelope in decoded:
                        await self._prepare(envelope)
                    handled = await self._handle_together(decoded)
            except Exception as exc:  # each alone below: only the failing one is retried
                log.info(
                    "batch failed, handling its messages one by one",
                    extra={
                        "consumer": self.spec.durable,
                        "messages": len(decoded),
                        "error": type(exc).__name__,
                    },
                )
            else:
                self.stats.handled += sum(handled)
                self.stats.duplicates += len(decoded) - sum(handled)
                await asyncio.gather(*(m.ack_sync() for m, _ in decoded))
                for (_, envelope), fresh in zip(decoded, handled, strict=True):
                    self._count_consumed(envelope, fresh)
                return
        for msg, envelope in decoded:
            if not self._running:
                break  # unacked: redelivered to whoever consumes next
            await self._process_decoded(msg, envelope)

    async def process(self, msg: Msg) -> None:
        """Handle one message: exactly one effect, then ack; or retry; or dead-letter."""
        envelope = await self._decode(msg)
        if envelope is not None:
            await self._process_decoded(msg, envelope)

    async def _decode(self, msg: Msg) -> Envelope | None:
        """The message's event, or None once a message of an unknown type has been acked or
        one that is not a valid event has been dead-lettered."""
        try:
            envelope = decode(msg.headers, msg.data, nats_subject=msg.subject)
        except UnknownEventType as exc:
            self.stats.unknown_types += 1
            metrics.EVENTS_UNKNOWN_TYPE.labels(self.spec.durable).inc()
            log.info(
                "event of an unknown type acked, not handled",
                extra={
                    "consumer": self.spec.durable,
                    "ce_type": exc.ce_type,
                    "msg_id": exc.id,
                    "subject": msg.subject,
                },
            )
            await msg.ack_sync()
        except EnvelopeError as exc:
            await self._dead_letter(msg, str(exc), msg.metadata.num_delivered or 1)
        else:
            if (msg.metadata.num_delivered or 1) > 1:
                metrics.EVENTS_REDELIVERED.labels(self.spec.durable, envelope.type).inc()
            return envelope
        return None

    async def _process_decoded(self, msg: Msg, envelope: Envelope) -> None:
        with self.tracing.consuming(envelope, durable=self.spec.durable):
            await self._process_traced(msg, envelope)

    async def _process_traced(self, msg: Msg, envelope: Envelope) -> None:
        deliveries = msg.metadata.num_delivered or 1
        try:
            async with self._keep_alive(msg):
                await self._prepare(envelope)
                fresh = await self._handle_once(msg, envelope)
        except PoisonMessage as exc:
            await self._dead_letter(msg, f"refused by handler: {exc}", deliveries)
            return
        except Refusal as exc:  # a business rule: a retry would be refused again
            e = exc.errors[0]
            await self._dead_letter(
                msg, f"refused by handler ({e.code}): {e.message_en}", deliveries
            )
            return
        except Exception as exc:
            transient = is_transient_db_error(exc) or isinstance(exc, KeysUnavailable)
            self.stats.last_error = type(exc).__name__
            if not transient and deliveries >= self.max_attempts:
                await self._dead_letter(
                    msg, f"gave up after {deliveries} attempts: {type(exc).__name__}", deliveries
                )
                return
            delay = retry_delay(deliveries)
            (log.info if transient else log.exception)(
                "handler failed, will retry",
                extra={
                    "consumer": self.spec.durable,
                    "msg_id": envelope.id,
                    "error": type(exc).__name__,
                    "transient": transient,
                    "attempt": deliveries,
                    "retry_in": delay,
                },
            )
            self.stats.retried += 1
            await msg.nak(delay=delay)
            return
        if fresh:
            self.stats.handled += 1
        else:
            self.stats.duplicates += 1
        await msg.ack_sync()
        self._count_consumed(envelope, fresh)

    def _count_consumed(self, envelope: Envelope, fresh: bool) -> None:
        outcome = "handled" if fresh else "duplicate"
        metrics.EVENTS_CONSUMED.labels(self.spec.durable, envelope.type, outcome).inc()

    async def _prepare(self, envelope: Envelope) -> None:
        if self.prepare is not None:
            await self.prepare(envelope)

    async def _handle_once(self, msg: Msg, envelope: Envelope) -> bool:
        async with self.sessions() as session, session.begin():
            return await self._record_and_handle(session, msg, envelope)

    async def _handle_together(self, decoded: list[tuple[Msg, Envelope]]) -> list[bool]:
        """Record the batch in the inbox with one statement, then handle the messages it had
        not seen (each id once, even if it came twice in the batch), in order; for each
        message, whether it was handled (not a duplicate)."""
        async with self.sessions() as session, session.begin():
            recorded = await session.execute(
                _INBOX_INSERT.returning(inbox.c.msg_id),
                [self._inbox_row(msg, envelope) for msg, envelope in decoded],
            )
            unseen = set(recorded.scalars())
            handled = []
            for _, envelope in decoded:
                fresh = envelope.id in unseen
                if fresh:
                    unseen.discard(envelope.id)
                    with self.tracing.consuming(envelope, durable=self.spec.durable):
                        await self.handler(session, envelope)
                handled.append(fresh)
            return handled

    async def _record_and_handle(self, session: AsyncSession, msg: Msg, envelope: Envelope) -> bool:
        """Record the message id in the inbox and run the handler, unless it was seen before."""
        result = await session.execute(_INBOX_INSERT, self._inbox_row(msg, envelope))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return False
        await self.handler(session, envelope)
        return True

    def _inbox_row(self, msg: Msg, envelope: Envelope) -> dict[str, Any]:
        return {
            "consumer": self.spec.durable,
            "msg_id": envelope.id,
            "subject": msg.subject,
            "received_at": dt.datetime.now(dt.UTC),
        }

    @contextlib.asynccontextmanager
    async def _keep_alive(self, *msgs: Msg):  # type: ignore[no-untyped-def]
        """Tell JetStream we are still working while a slow handler runs past ack-wait."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(max(self.spec.ack_wait / 3, 0.5))
                for msg in msgs:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _dead_letter(self, msg: Msg, reason: str, deliveries: int) -> None:
        headers = dict(msg.headers or {})
        original_id = (
            headers.get("ce-id")
            or headers.get(NATS_MSG_ID)
            or (f"{msg.metadata.stream}-{msg.metadata.sequence.stream}")
        )[:200]
        body = msg.data
        if self.outsiders:
            headers = {k: headers[k][:200] for k in _KEPT_HEADERS if k in headers}
            headers[DLQ_BODY_DROPPED] = str(len(body))
            body = b""
        headers.update(
            {
                DLQ_REASON: reason[:500],
                DLQ_SERVICE: self.service,
                DLQ_CONSUMER: self.spec.durable,
                DLQ_SUBJECT: msg.subject,
                DLQ_DELIVERIES: str(deliveries),
                # With the sequence: a redelivery of this message is deduplicated, but a replay
                # of it (`jejaring dlq replay`, a new sequence) that fails again is not.
                NATS_MSG_ID: f"dlq:{self.spec.durable}:{original_id}:{msg.metadata.sequence.stream}",
            }
        )
        try:
            await self.js.publish(subjects.dlq(self.service, msg.subject), body, headers=headers)
        except Exception as exc:
            log.warning(
                "could not reach the DLQ, message will come back",
                extra={"consumer": self.spec.durable, "error": type(exc).__name__},
            )
            await msg.nak(delay=retry_delay(deliveries))
            return
        self.stats.dead_lettered += 1
        metrics.EVENTS_DEAD_LETTERED.labels(
            self.spec.durable, metrics.event_type((msg.headers or {}).get("ce-type"))
        ).inc()
        self._log_dead_letter(msg.subject, reason)
        await msg.term()

    def _log_dead_letter(self, subject: str, reason: str) -> None:
        """One line per dead letter; from outsiders, one a second per subject at most."""
        held = self._sparse.allow(subject) if self.outsiders else 0
        if held is None:
            return
        log.error(
            "message dead-lettered",
            extra={
                "consumer": self.spec.durable,
                "subject": subject,
                "reason": reason[:200],
                "more_since_last_line": held,
            },
        )
