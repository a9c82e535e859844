"""The dispatcher's claim (one UPDATE … RETURNING), on SQLite and PostgreSQL: two dispatchers
sending at once send every due message once; the urgent go first; one in the recipient's
quiet hours waits for their end; a row another holds the lease of is left alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify.app import MIGRATIONS
from jejaring.notify.channels import TemplateMessage
from jejaring.notify.models import Delivery, DeliveryStatus, RecipientRole
from jejaring.notify.service import LEASE, Dispatcher
from jejaring.notify.settings import NotifySettings
from jejaring.testing import migrated

WITA = dt.timezone(dt.timedelta(hours=8))
NOON = dt.datetime(2026, 11, 28, 12, 0, tzinfo=WITA)


class Gateway:
    """A channel that takes a while to answer and remembers what it was given, in order."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        await asyncio.sleep(0.01)
        self.sent.append(text)
        return f"sms-{len(self.sent)}"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(database_url, MIGRATIONS) as sessions:
        yield sessions


async def queue(
    sessions: async_sessionmaker[AsyncSession], body: str, *, minute: int, **fields: Any
) -> None:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(),
        event_id=f"evt-{body}",
        trigger="referral_requested",
        case_reference="BPT-2026-000123",
        recipient_name="Piket PPA",
        recipient_role=RecipientRole.PARTNER,
        recipient="+628110000101",
        channel="sms",
        urgent=False,
        subject="",
        body=body,
        status=DeliveryStatus.QUEUED,
        attempts=0,
        next_attempt_at=NOON - dt.timedelta(minutes=1),
        created_at=NOON - dt.timedelta(minutes=60 - minute),
    )
    async with sessions() as session, session.begin():
        session.add(Delivery(**(values | fields)))


def dispatcher(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, gateway: Gateway, now: dt.datetime
) -> Dispatcher:
    settings = NotifySettings(data_dir=tmp_path, send_concurrency=2)
    return Dispatcher(sessions, {"sms": gateway}, settings, lambda: now)


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = (await session.execute(select(Delivery.body, Delivery.status))).all()
    return {body: status.value for body, status in rows}


async def test_two_dispatchers_send_every_due_message_once_the_urgent_first(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    for n in range(12):
        await queue(sessions, f"routine-{n}", minute=n)
    await queue(sessions, "urgent-late", minute=50, urgent=True)
    one, other = Gateway(), Gateway()
    a = dispatcher(sessions, tmp_path, one, NOON)
    b = dispatcher(sessions, tmp_path, other, NOON)

    handled = 0
    while True:
        done = await asyncio.gather(a.dispatch_due(limit=3), b.dispatch_due(limit=3))
        if not any(done):
            break
        handled += sum(done)

    assert handled == 13
    assert sorted(one.sent + other.sent) == sorted(
        [*(f"routine-{n}" for n in range(12)), "urgent-late"]
    )
    assert set(await statuses(sessions)) == {f"routine-{n}" for n in range(12)} | {"urgent-late"}
    assert set((await statuses(sessions)).values()) == {"sent"}
    # The first batches were the urgent one and the oldest routine ones.
    assert "urgent-late" in (one.sent[:3] + other.sent[:3])
    assert {"routine-0", "routine-1"} <= set(one.sent[:3] + other.sent[:3])


async def test_quiet_hours_defer_a_row_and_a_leased_row_is_left_alone(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    night = dt.datetime(2026, 11, 28, 23, 0, tzinfo=WITA)
    await queue(
        sessions,
        "asleep",
        minute=1,
        quiet_start="21:00",
        quiet_end="07:00",
        next_attempt_at=night - dt.timedelta(minutes=1),
    )
    await queue(
        sessions,
        "urgent-at-night",
        minute=2,
        urgent=True,
        quiet_start="21:00",
        quiet_end="07:00",
        next_attempt_at=night - dt.timedelta(minutes=1),
    )
    await queue(
        sessions, "held", minute=3, status=DeliveryStatus.SENDING, next_attempt_at=night + LEASE / 2
    )
    gateway = Gateway()

    assert await dispatcher(sessions, tmp_path, gateway, night).dispatch_due() == 2

    assert gateway.sent == ["urgent-at-night"]
    assert await statuses(sessions) == {
        "asleep": "deferred",
        "urgent-at-night": "sent",
        "held": "sending",
    }
    async with sessions() as session:
        asleep = await session.scalar(select(Delivery).where(Delivery.body == "asleep"))
    assert asleep is not None
    assert asleep.next_attempt_at == dt.datetime(2026, 11, 29, 7, 0, tzinfo=WITA)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_row_another_dispatcher_is_claiming_is_skipped_not_waited_for(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """PostgreSQL: replicas claim at the same moment; each skips the rows the other holds."""
    await queue(sessions, "being-claimed", minute=1)
    await queue(sessions, "free", minute=2)
    gateway = Gateway()
    async with sessions() as other, other.begin():
        await other.execute(
            select(Delivery.id).where(Delivery.body == "being-claimed").with_for_update()
        )
        handled = await asyncio.wait_for(
            dispatcher(sessions, tmp_path, gateway, NOON).dispatch_due(), timeout=10
        )
    assert handled == 1
    assert gateway.sent == ["free"]
    assert (await statuses(sessions))["being-claimed"] == "queued"
