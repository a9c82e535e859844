"""Notify's metrics (shared/metrics.py serves them): sends by channel and result, and the
delivery log by channel and status, read at scrape."""

from __future__ import annotations

from prometheus_client import Histogram
from prometheus_client.core import Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify.models import Delivery, DeliveryStatus
from jejaring.shared import metrics
from jejaring.shared.metrics import Scrape

SEND_SECONDS = Histogram(
    "jejaring_notify_send_seconds",
    "Attempts to send a delivery through a channel, by channel and result (sent or failed), "
    "and how long the channel took to answer.",
    ["channel", "result"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def deliveries_scrape(sessions: async_sessionmaker[AsyncSession], channels: list[str]) -> Scrape:
    """Deliveries in the log by channel and status (every configured channel and status has a
    sample, 0 when there is none)."""

    async def scrape() -> list[Metric]:
        async with sessions() as session:
            rows = await session.execute(
                select(Delivery.channel, Delivery.status, func.count()).group_by(
                    Delivery.channel, Delivery.status
                )
            )
            counts = {(c, s): float(n) for c, s, n in rows}
        values = {(c, s.value): 0.0 for c in channels for s in DeliveryStatus} | counts
        return [
            metrics.gauge(
                "jejaring_notify_deliveries",
                "Deliveries in notify's log by channel and status.",
                values,
                ["channel", "status"],
            )
        ]

    return scrape
