"""The read model from the events: one function per event type, each idempotent on its own
(the consumer's inbox already drops a repeated message id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.shared.contract.envelope import Envelope


async def apply(session: AsyncSession, envelope: Envelope) -> None:
    """Project one event into the read model (a placeholder until the tables exist)."""
    del session, envelope
