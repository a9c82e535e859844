"""Report's consumers: the case events and the referral events, projected into the read model
(projection.py) in the consumer's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.report import projection
from jejaring.shared.contract.envelope import Envelope


async def on_event(session: AsyncSession, envelope: Envelope) -> None:
    """Any event of either stream -> the read model."""
    await projection.apply(session, envelope)
