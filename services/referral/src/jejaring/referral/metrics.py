"""Referral's metrics (shared/metrics.py serves them): referrals by status and how many are
overdue, read at scrape."""

from __future__ import annotations

from prometheus_client.core import Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.referral.models import Referral
from jejaring.shared import metrics
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.metrics import Scrape


def referrals_scrape(sessions: async_sessionmaker[AsyncSession]) -> Scrape:
    """Referrals by status (each status has a sample), and those overdue: still requested
    after their accept-by deadline (deadlines.check_deadlines marks them)."""

    async def scrape() -> list[Metric]:
        async with sessions() as session:
            rows = await session.execute(
                select(Referral.status, func.count()).group_by(Referral.status)
            )
            by_status = {(s.value,): 0.0 for s in ReferralStatus} | {
                (status,): float(n) for status, n in rows
            }
            overdue = await session.scalar(
                select(func.count()).where(
                    Referral.status == ReferralStatus.REQUESTED.value,
                    Referral.overdue_at.is_not(None),
                )
            )
        return [
            metrics.gauge("jejaring_referrals", "Referrals by status.", by_status, ["status"]),
            metrics.gauge(
                "jejaring_referrals_overdue",
                "Referrals still not accepted after their deadline.",
                {(): float(overdue or 0)},
            ),
        ]

    return scrape
