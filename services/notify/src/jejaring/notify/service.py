"""Notify's business logic: turn events into deliveries, and deliver them.

Planning runs in the consumer's transaction (with the inbox), so a redelivered event plans
nothing twice; the unique key (event, recipient, channel) holds it in the database as well.
Delivery runs apart: each due row is claimed with a short lease, sent, and recorded; transient
failures retry with backoff, and after the channel's attempts (`max_attempts`; WhatsApp's own)
the channel the registry names as the fallback is tried, on the contact's address for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify import feedback, render, triggers
from jejaring.notify.channels import Channel, SendError, TemplateMessage
from jejaring.notify.errors import CaseReferenceRequired, DeliveryLogNotForRole
from jejaring.notify.metrics import SEND_SECONDS
from jejaring.notify.models import DUE, Delivery, DeliveryStatus, RecipientRole
from jejaring.notify.registry import CHANNELS, ChannelRegistry
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.db import insert_or_ignore, one_statement
from jejaring.shared.tracing import Tracing, current_context, mark_failed
from jejaring.shared.web.identity import Person, PersonRole

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)
# A redelivered event plans nothing twice: (event, recipient, channel) is unique.
_DELIVERY = cast(Table, Delivery.__table__)
_PLAN_DELIVERY = insert_or_ignore(_DELIVERY)
# Rows claimed inside the recipient's quiet hours wait for their end.
_DEFER = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id == bindparam("row_id"))
    .values(status=DeliveryStatus.DEFERRED, next_attempt_at=bindparam("until"))
)
# A plain UPDATE, not the ORM's unit of work: it runs once for every message sent.
_MARK_SENT = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id == bindparam("row_id"))
    .values(
        status=DeliveryStatus.SENT,
        # a survivor's phone (sealed until now) is not kept once her SMS is sent (feedback.py)
        recipient=case(
            (_DELIVERY.c.recipient_role == RecipientRole.SURVIVOR.value, ""),
            else_=_DELIVERY.c.recipient,
        ),
        sent_at=bindparam("sent_at"),
        provider_message_id=bindparam("provider"),
        attempts=_DELIVERY.c.attempts + 1,
        last_error=None,
    )
)
DISPATCH_BATCH = 50


def coordinator(settings: NotifySettings) -> ev.Contact:
    return ev.Contact(
        name=settings.coordinator_name,
        phone=settings.coordinator_phone,
        email=settings.coordinator_email,
    )


async def plan(
    session: AsyncSession, *, envelope: Envelope, settings: NotifySettings, now: dt.datetime
) -> int:
    """Queue the deliveries `envelope` calls for; return how many were queued."""
    return await plan_event(
        session, event=envelope.data, event_id=envelope.id, settings=settings, now=now
    )


async def plan_event(
    session: AsyncSession,
    *,
    event: ev.Event,
    event_id: str,
    settings: NotifySettings,
    now: dt.datetime,
) -> int:
    """Queue the deliveries `event` calls for, once per (`event_id`, recipient, channel);
    return how many were queued."""
    alert = triggers.alert_for(event, coordinator=coordinator(settings))
    if alert is None:
        return 0
    queued = 0
    traceparent = current_context().get("traceparent")  # the consumer's span: sends continue it
    for recipient in alert.recipients:
        route = triggers.channel_for(recipient.contact, urgent=alert.urgent, settings=settings)
        if route is None:
            log.warning(
                "recipient has no address",
                extra={"trigger": alert.template, "role": recipient.role},
            )
            continue
        channel, address, alternate = route
        data = render.context(
            event,
            role=recipient.role,
            lang=settings.language,
            urgent=alert.urgent,
            intake_url=settings.intake_public_url,
            referral_url=settings.referral_public_url,
            web_url=settings.public_url,
        )
        subject, text = render.render(alert.template, data, settings.language)
        quiet = recipient.contact.quiet_hours
        result = await session.execute(
            _PLAN_DELIVERY,
            dict(
                id=uuid.uuid4(),
                event_id=event_id,
                trigger=alert.template,
                case_reference=data["reference"],
                kelurahan_code=getattr(event, "kelurahan_code", None),
                referral_id=getattr(event, "referral_id", None),
                recipient_name=recipient.contact.name,
                recipient_role=recipient.role,
                recipient=address,
                channel=channel,
                alternate=alternate,
                urgent=alert.urgent,
                quiet_start=quiet.start if quiet else None,
                quiet_end=quiet.end if quiet else None,
                subject=subject,
                body=text,
                template_parameters=render.template_parameters(alert.template, data),
                status=DeliveryStatus.QUEUED,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                traceparent=traceparent,
            ),
        )
        queued += result.rowcount or 0  # type: ignore[attr-defined]
    return queued


def quiet_until(row: Delivery, now: dt.datetime) -> dt.datetime | None:
    """The end of the recipient's quiet hours if `now` falls in them (never for urgent)."""
    if row.urgent or not row.quiet_start or not row.quiet_end:
        return None
    local = now.astimezone(render.WITA)
    start = dt.time.fromisoformat(row.quiet_start)
    end = dt.time.fromisoformat(row.quiet_end)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += dt.timedelta(days=1)
    return until.astimezone(dt.UTC)


@dataclass
class Dispatcher:
    """Sends due deliveries through the configured channels."""

    sessions: async_sessionmaker[AsyncSession]
    channels: dict[str, Channel]
    settings: NotifySettings
    clock: Callable[[], dt.datetime]
    registry: ChannelRegistry = field(default=CHANNELS)
    tracing: Tracing = field(default_factory=lambda: Tracing.for_service("notify"))

    async def dispatch_due(self, limit: int = DISPATCH_BATCH) -> int:
        """Claim what is due now, defer what falls in quiet hours, send the rest; return how
        many rows were handled. One statement claims the batch; up to `send_concurrency`
        messages are then sent at once (a slow gateway answers them in parallel), each marked
        in a transaction of its own, so a crash resends at most the messages in flight."""
        now = self.clock()
        rows = await self._claim(now, limit)
        sending: list[Delivery] = []
        waiting: list[tuple[Delivery, dt.datetime]] = []  # each until its quiet hours end
        for row in rows:
            until = quiet_until(row, now)
            if until is None:
                sending.append(row)
            else:
                waiting.append((row, until))
        gate = asyncio.Semaphore(self.settings.send_concurrency)

        async def deliver(row: Delivery) -> None:
            async with gate:
                with self._traced(f"deliver {row.channel}", row):
                    await self._deliver(row, now)

        # What waits for quiet hours' end is put off alongside the sends, which do not wait
        # for it: every row is leased to this dispatcher until then.
        work = [deliver(row) for row in sending]
        if waiting:
            work.append(self._defer(waiting))
        outcomes = await asyncio.gather(*work, return_exceptions=True)
        for outcome in outcomes:  # an unexpected error: its row is sent again after the lease
            if isinstance(outcome, BaseException):
                raise outcome
        return len(rows)

    async def _claim(self, now: dt.datetime, limit: int) -> list[Delivery]:
        """Lease up to `limit` due rows, the most urgent and then the oldest first, in one
        statement: another dispatcher skips a leased row until its lease runs out, and on
        PostgreSQL one claiming at the same moment skips the rows this one is taking."""
        due = (
            select(Delivery.id)
            .where(Delivery.status.in_(DUE), Delivery.next_attempt_at <= now)
            .order_by(Delivery.urgent.desc(), Delivery.created_at)
            .limit(limit)
        )
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            await one_statement(session)
            claimed = await session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(due.scalar_subquery()))
                .values(status=DeliveryStatus.SENDING, next_attempt_at=now + LEASE)
                .returning(Delivery),
                execution_options={"synchronize_session": False},
            )
            rows = list(claimed.all())
        rows.sort(key=lambda row: (not row.urgent, row.created_at))  # RETURNING keeps no order
        return rows

    async def _defer(self, waiting: list[tuple[Delivery, dt.datetime]]) -> None:
        """Put each row off until the end of its recipient's quiet hours."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                _DEFER, [{"row_id": row.id, "until": until} for row, until in waiting]
            )
        for row, until in waiting:
            row.status, row.next_attempt_at = DeliveryStatus.DEFERRED, until
            # a span of its own: the trace shows why the alert waits
            with self._traced(f"defer {row.channel}", row):
                log.info(
                    "delivery deferred for quiet hours",
                    extra={"delivery": str(row.id), "until": row.next_attempt_at.isoformat()},
                )

    def _traced(self, name: str, row: Delivery) -> AbstractContextManager[None]:
        """A span in the trace of the event that planned `row`, its ids on every log line."""
        return self.tracing.continuing(
            name,
            traceparent=row.traceparent,
            case_reference=row.case_reference,
            event_id=row.event_id,
            attributes={
                "jejaring.delivery.channel": row.channel,
                "jejaring.delivery.trigger": row.trigger,
            },
        )

    async def _deliver(self, row: Delivery, now: dt.datetime) -> None:
        started = time.perf_counter()
        try:
            try:
                template = None
                if row.template_parameters is not None:
                    template = TemplateMessage(row.trigger, tuple(row.template_parameters))
                provider_id = await self.channels[row.channel].send(
                    to=feedback.address(row, self.settings),
                    subject=row.subject,
                    text=row.body,
                    template=template,
                )
            except SendError:
                raise
            except Exception as exc:
                # A channel's bug counts as a failed attempt: bounded by max_attempts, never
                # a row sent again after every lease for ever.
                log.error(  # the type only: a message could repeat an address
                    "channel raised an unexpected error",
                    extra={
                        "delivery": str(row.id),
                        "channel": row.channel,
                        "error": type(exc).__name__,
                    },
                )
                raise SendError(f"unexpected: {type(exc).__name__}") from None
        except SendError as exc:
            SEND_SECONDS.labels(row.channel, "failed").observe(time.perf_counter() - started)
            async with self.sessions() as session, session.begin():
                session.add(row)  # claimed by a session now closed
                await self._failed(session, row, exc, now)
            return
        SEND_SECONDS.labels(row.channel, "sent").observe(time.perf_counter() - started)
        async with self.sessions() as session, session.begin():
            await one_statement(session)
            await session.execute(
                _MARK_SENT, {"row_id": row.id, "sent_at": self.clock(), "provider": provider_id}
            )
        log.info(
            "delivery sent",
            extra={
                "delivery": str(row.id),
                "case": row.case_reference,
                "channel": row.channel,
                "trigger": row.trigger,
                "role": row.recipient_role,
            },
        )

    async def _failed(
        self, session: AsyncSession, row: Delivery, exc: SendError, now: dt.datetime
    ) -> None:
        row.attempts += 1
        row.last_error = str(exc)[:500]
        mark_failed("SendError")  # the send's span; the reason stays in the delivery log
        if not exc.permanent and row.attempts < self.registry.max_attempts(
            row.channel, self.settings
        ):
            delay = self.settings.retry_base_s * 2 ** (row.attempts - 1)
            row.status = DeliveryStatus.QUEUED
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
            log.warning(
                "delivery failed, will retry",
                extra={"delivery": str(row.id), "attempt": row.attempts, "error": row.last_error},
            )
            return
        row.status = DeliveryStatus.FAILED
        log.error(
            "delivery failed",
            extra={"delivery": str(row.id), "channel": row.channel, "error": row.last_error},
        )
        if row.recipient_role == RecipientRole.SURVIVOR:
            row.recipient = ""  # her SMS only: no fallback, and her phone is not kept
            return
        plan_fallback(session, row, self.registry, now)


def plan_fallback(
    session: AsyncSession, row: Delivery, registry: ChannelRegistry, now: dt.datetime
) -> None:
    """Queue the delivery that follows `row`, which failed for good, on the registry's fallback
    channel: to an address the contact has; one step to another address at most (a fallback row
    to another address has no alternate), after a channel ahead of another to that one."""
    route = registry.fallback_route(row.channel, row.recipient, row.alternate)
    if route is None:
        return
    session.add(
        Delivery(
            id=uuid.uuid4(),
            event_id=row.event_id,
            trigger=row.trigger,
            case_reference=row.case_reference,
            kelurahan_code=row.kelurahan_code,
            referral_id=row.referral_id,
            recipient_name=row.recipient_name,
            recipient_role=row.recipient_role,
            recipient=route.address,
            channel=route.channel,
            alternate=route.alternate,
            urgent=row.urgent,
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
            subject=row.subject,
            body=row.body,
            template_parameters=row.template_parameters,
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            fallback_of=row.id,
            created_at=now,
            traceparent=row.traceparent,
        )
    )
    log.warning(
        "falling back to the other channel",
        extra={"delivery": str(row.id), "channel": route.channel},
    )


async def provider_failed(
    session: AsyncSession,
    *,
    channel: str,
    provider_message_id: str,
    reason: str,
    now: dt.datetime,
    registry: ChannelRegistry = CHANNELS,
) -> bool:
    """A message the provider accepted and reports failed later (WhatsApp's status webhook):
    its delivery becomes failed and its fallback is queued. False when no sent delivery has
    that id (an unknown message, or a report that came before)."""
    row = await session.scalar(
        select(Delivery).where(
            Delivery.provider_message_id == provider_message_id,
            Delivery.channel == channel,
            Delivery.status == DeliveryStatus.SENT,
        )
    )
    if row is None:
        return False
    row.status = DeliveryStatus.FAILED
    row.last_error = reason[:500]
    log.error(
        "delivery reported failed by the provider",
        extra={"delivery": str(row.id), "channel": channel, "error": row.last_error},
    )
    plan_fallback(session, row, registry, now)
    return True


async def list_deliveries(
    session: AsyncSession,
    *,
    case_reference: str | None,
    referral_id: uuid.UUID | None,
    status: DeliveryStatus | None,
    limit: int = 200,
    reader: Person | None = None,
) -> list[Delivery]:
    """The delivery log, oldest first. For a `reader` who is a person: an admin reads it all;
    an officer or the coordinator one case at a time (CaseReferenceRequired), an officer only
    their own kelurahan's rows; partner staff not at all (DeliveryLogNotForRole)."""
    query = select(Delivery)
    if reader is not None and reader.role != PersonRole.ADMIN:
        if reader.role not in (PersonRole.OFFICER, PersonRole.COORDINATOR):
            raise DeliveryLogNotForRole()
        if not case_reference:
            raise CaseReferenceRequired()
        if reader.role == PersonRole.OFFICER:
            # Rows of another kelurahan, or of none recorded, are never an officer's.
            query = query.where(Delivery.kelurahan_code == (reader.kelurahan_code or ""))
    if case_reference:
        query = query.where(Delivery.case_reference == case_reference)
    if referral_id:
        query = query.where(Delivery.referral_id == referral_id)
    if status:
        query = query.where(Delivery.status == status)
    rows = await session.scalars(query.order_by(Delivery.created_at, Delivery.id).limit(limit))
    return list(rows.all())
