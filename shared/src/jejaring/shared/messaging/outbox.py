"""Transactional outbox (docs/design.md §5).

`Outbox.add` writes an event into the `outbox` table inside the caller's transaction (all of a
transaction's events in one executemany as it commits), so a state change and the events it
causes commit together or not at all. `OutboxRelay` publishes unsent
rows to JetStream with `Nats-Msg-Id` = `ce-id`, waits for the PubAck, and only then marks a row
sent. A relay that dies between the PubAck and the mark publishes the row again on restart, and
JetStream's duplicate window drops the repeat. A commit wakes the relay at once; a poll covers
rows written by other processes. On PostgreSQL several relays share the table through
`FOR UPDATE SKIP LOCKED`; on SQLite one relay per database.

A row may be stored **sealed** (`seal=`): its body is sealed with a data key (the case's, for
a message that holds a victim's personal data in the clear, such as a partner's view of a case)
and its `SEALED_WITH` header names the key. The relay opens it with its key source just before
publishing and publishes it without that header; the clear body is never written to the
database nor logged. A row whose key is gone (the case was erased while it waited) is deleted
unpublished; while the key source does not answer, the rows from the first such row on wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import bindparam, delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from jejaring.shared import crypto, metrics
from jejaring.shared.contract.envelope import OutgoingMessage, encode
from jejaring.shared.contract.events import Event
from jejaring.shared.db import on_commit, read_only
from jejaring.shared.logs import bind_event
from jejaring.shared.messaging.keys import KeysUnavailable
from jejaring.shared.messaging.tables import outbox
from jejaring.shared.tracing import current_context

log = logging.getLogger(__name__)

AfterPublish = Callable[[Sequence[int]], Awaitable[None] | None]
# The data key a sealed row names (its `SEALED_WITH` header); None: the key is gone (erased).
# May raise KeysUnavailable (try later).
KeySource = Callable[[str], Awaitable[bytes | None]]
# (key id, data key): how `Outbox.add` seals a row
Seal = tuple[str, bytes]

SEALED_WITH = "Jejaring-Sealed-With"
_SEAL_PURPOSE = "outbox"


def _seal_body(seal: Seal, body: bytes) -> bytes:
    kid, key = seal
    return crypto.seal(key, body, associated=crypto.aad(kid, _SEAL_PURPOSE)).encode()


def _open_body(kid: str, key: bytes, body: bytes) -> bytes:
    return crypto.unseal(key, body.decode("ascii"), associated=crypto.aad(kid, _SEAL_PURPOSE))


# Runs in the transaction that marks rows sent, with each acknowledged row's (msg_id, stream
# sequence): a service records where its messages landed for longer than the outbox keeps rows.
OnSent = Callable[[AsyncSession, Sequence[tuple[str, int]]], Awaitable[None]]


@contextlib.asynccontextmanager
async def _transaction(session: AsyncSession) -> AsyncIterator[None]:
    """Join the session's open transaction, or run in a new one."""
    if session.in_transaction():
        yield
    else:
        async with session.begin():
            yield


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Outbox:
    """Writes events into the outbox of one service, and wakes its relay when they commit."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        self.committed = asyncio.Event()

    async def add(
        self,
        session: AsyncSession,
        event_: Event,
        *,
        event_id: str | None = None,
        time: dt.datetime | None = None,
        seal: Seal | None = None,
    ) -> OutgoingMessage:
        """Write `event_` into the outbox within `session`'s transaction, carrying the trace
        context it is created in (the row keeps it; the relay publishes it); with `seal`, the
        row's body is stored sealed with that key."""
        message = self.encode(event_, event_id=event_id, time=time)
        await self.add_message(session, message, seal=seal)
        return message

    def encode(
        self, event_: Event, *, event_id: str | None = None, time: dt.datetime | None = None
    ) -> OutgoingMessage:
        """`event_` as this service publishes it, for a message written later (`add_message`)."""
        message = encode(
            event_, source=self.source, event_id=event_id, time=time, trace=current_context()
        )
        bind_event(message.msg_id)  # an HTTP request's log lines name the event it caused
        return message

    async def add_message(
        self, session: AsyncSession, message: OutgoingMessage, *, seal: Seal | None = None
    ) -> None:
        """Write an already encoded message (re-drives keep their ids this way; a message read
        back from a sealed row is already sealed: its headers name the key)."""
        headers, body = message.headers, message.body
        if seal is not None:
            headers, body = {**headers, SEALED_WITH: seal[0]}, _seal_body(seal, body)
        _pending_rows(session).append(
            {
                "msg_id": message.msg_id,
                "subject": message.subject,
                "headers": headers,
                "body": body,
                "created_at": _utcnow(),
            }
        )
        on_commit(session, self.committed.set)


# The rows a transaction adds are written in one executemany just before it commits, in the
# order they were added: a case and its three referrals cost one INSERT into the outbox, not
# six. They are still part of the transaction: a failed insert fails the commit.
_PENDING = "outbox_pending"


def _pending_rows(session: AsyncSession) -> list[dict[str, Any]]:
    info = session.sync_session.info
    if _PENDING not in info:
        info[_PENDING] = []
        event.listen(session.sync_session, "before_commit", _write_pending)
        event.listen(session.sync_session, "after_soft_rollback", _drop_pending)
    rows: list[dict[str, Any]] = info[_PENDING]
    return rows


def _write_pending(sync_session: Session) -> None:
    rows = sync_session.info[_PENDING]
    if rows:
        sync_session.info[_PENDING] = []
        sync_session.execute(outbox.insert(), rows)


def _drop_pending(sync_session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        sync_session.info[_PENDING] = []


@dataclass(frozen=True)
class _Opened:
    id: int
    msg_id: str
    subject: str
    headers: dict[str, str]
    body: bytes


class OutboxRelay:
    """Publishes committed outbox rows to JetStream, in order of writing."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        outbox_: Outbox | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        retention: dt.timedelta = dt.timedelta(days=1),
        after_publish: AfterPublish | None = None,
        on_sent: OnSent | None = None,
        keys: KeySource | None = None,
    ) -> None:
        self.sessions = sessions
        self.keys = keys  # opens sealed rows
        self.js = js
        self.wakeup = outbox_.committed if outbox_ is not None else asyncio.Event()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        self.retention = retention
        # Test seam for fault injection: runs after the PubAcks, before rows are marked sent.
        self.after_publish = after_publish
        self.on_sent = on_sent
        self.published = 0
        self._last_prune = 0.0
        self._running = True

    def stop(self) -> None:
        """Leave the loop after the batch in hand."""
        self._running = False
        self.wakeup.set()

    async def run(self) -> None:
        """Relay until cancelled; errors (NATS or database down) back off and retry."""
        failures = 0
        while self._running:
            try:
                count = await self.relay_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(0.1 * 2**failures, 5.0)
                log.warning(
                    "outbox relay failed, retrying",
                    extra={
                        "error": type(exc).__name__,
                        "detail": str(exc)[:200],
                        "retry_in": delay,
                    },
                )
                await asyncio.sleep(delay)
                continue
            if count >= self.batch_size:
                continue
            await self._maybe_prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_interval)
            self.wakeup.clear()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; return how many rows were taken."""
        async with self.sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Several relays may run: each claims rows with FOR UPDATE SKIP LOCKED and holds
                # the row locks (not a table lock) until they are marked sent.
                blocked = None
                async with session.begin():
                    rows = await self._unsent_rows(session, lock=True)
                    if rows:
                        blocked = await self._publish_and_mark(session, rows)
                if blocked is not None:  # raised once what was done is committed
                    raise blocked
                return len(rows)
            # SQLite: one relay per database. No write lock is held while publishing, so a
            # slow or absent NATS never blocks the service's own writes.
            async with session.begin():
                await read_only(session)
                rows = await self._unsent_rows(session, lock=False)
            if rows and (blocked := await self._publish_and_mark(session, rows)) is not None:
                raise blocked
            return len(rows)

    async def _unsent_rows(self, session: AsyncSession, *, lock: bool) -> Sequence[Any]:
        query = (
            select(outbox.c.id, outbox.c.msg_id, outbox.c.subject, outbox.c.headers, outbox.c.body)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return (await session.execute(query)).all()

    async def _open(self, rows: Sequence[Any]) -> tuple[list[Any], list[Any], Exception | None]:
        """The rows ready to publish (sealed ones opened, in order), the rows whose key is gone,
        and the error that stopped the opening (the key source did not answer), if any."""
        ready: list[Any] = []
        gone: list[Any] = []
        for row in rows:
            kid = row.headers.get(SEALED_WITH)
            if kid is None:
                ready.append(row)
                continue
            try:
                if self.keys is None:
                    raise KeysUnavailable("the relay has no key source for sealed rows")
                key = await self.keys(kid)
            except KeysUnavailable as exc:
                return ready, gone, exc  # later rows wait: the stream's order is kept
            try:
                body = _open_body(kid, key, row.body) if key is not None else None
            except crypto.Unreadable:
                body = None
            if body is None:
                gone.append(row)
                continue
            headers = {k: v for k, v in row.headers.items() if k != SEALED_WITH}
            ready.append(_Opened(row.id, row.msg_id, row.subject, headers, body))
        return ready, gone, None

    async def _publish_and_mark(
        self, session: AsyncSession, sealed: Sequence[Any]
    ) -> Exception | None:
        """Publish the rows and mark them sent; what stopped the opening of sealed rows, if
        anything, is returned (the caller raises it after committing)."""
        rows, gone, blocked = await self._open(sealed)
        if gone:
            async with _transaction(session):
                await session.execute(delete(outbox).where(outbox.c.id.in_([r.id for r in gone])))
            for row in gone:  # ids only: the body is never logged
                log.warning(
                    "sealed outbox row dropped unpublished: its key is gone (case erased)",
                    extra={"msg_id": row.headers.get("ce-id"), "subject": row.subject},
                )
        results = await asyncio.gather(
            *(
                self.js.publish(
                    row.subject, row.body, timeout=self.publish_timeout, headers=row.headers
                )
                for row in rows
            ),
            return_exceptions=True,
        )
        acked = [
            (row.id, result.seq)
            for row, result in zip(rows, results, strict=True)
            if not isinstance(result, BaseException)
        ]
        failed = [
            (row.id, result)
            for row, result in zip(rows, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if self.after_publish is not None:
            maybe = self.after_publish([row_id for row_id, _ in acked])
            if maybe is not None:
                await maybe
        now = _utcnow()
        async with _transaction(session):
            if acked:  # one statement for the batch (executemany)
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == bindparam("row_id"))
                    .values(sent_at=bindparam("now"), stream_seq=bindparam("seq")),
                    [{"row_id": row_id, "seq": seq, "now": now} for row_id, seq in acked],
                )
                if self.on_sent is not None:
                    seqs = {row_id: seq for row_id, seq in acked}
                    await self.on_sent(
                        session, [(row.msg_id, seqs[row.id]) for row in rows if row.id in seqs]
                    )
            for row_id, error in failed:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(attempts=outbox.c.attempts + 1, last_error=repr(error)[:500])
                )
        self.published += len(acked)
        if acked:
            metrics.OUTBOX_BATCHES.inc()
        for row, result in zip(rows, results, strict=True):
            if not isinstance(result, BaseException):
                metrics.EVENTS_PUBLISHED.labels(
                    metrics.event_type(row.headers.get("ce-type"))
                ).inc()
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(rows)} publishes failed: {failed[0][1]!r}")
        return blocked

    async def _maybe_prune(self) -> None:
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_prune < 60:
            return
        self._last_prune = loop_now
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(outbox).where(outbox.c.sent_at < _utcnow() - self.retention)
            )


async def unsent_backlog(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, float]:
    """How many events wait in the outbox (it grows while NATS is away), and the age in seconds
    of the oldest (0 when none waits): one query on the partial index of unsent rows."""
    async with sessions() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.sent_at.is_(None)
                )
            )
        ).one()
    if oldest is None:
        return int(count or 0), 0.0
    return int(count or 0), max(0.0, (_utcnow() - oldest).total_seconds())
