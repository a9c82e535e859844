"""Intake's keyring: one data key per case (crypto.py), stored wrapped by the current master
key in `data_key`, and served to referral over NATS (messaging/keys.py).

Deleting a case's row is its erasure: every sealed copy of its personal fields (intake's
row, the CASES messages, referral's copies, backups) is unreadable from then on.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.intake.batches import in_batches
from jejaring.intake.models import DataKey
from jejaring.shared import crypto
from jejaring.shared.db import read_only
from jejaring.shared.messaging.keys import Lookup

log = logging.getLogger(__name__)

WRAP = "data-key"  # the associated data's purpose of a wrapped data key


@dataclass(frozen=True)
class Keyring:
    master: crypto.MasterKeys

    def _aad(self, case_id: uuid.UUID) -> bytes:
        return crypto.aad(case_id, WRAP)

    def create(self, session: AsyncSession, case_id: uuid.UUID, *, now: dt.datetime) -> bytes:
        """A new data key for the case, added to `session` (committed with the case)."""
        key = crypto.new_data_key()
        kid, wrapped = self.master.wrap(key, associated=self._aad(case_id))
        session.add(DataKey(case_id=case_id, key_id=kid, wrapped=wrapped, created_at=now))
        return key

    async def get(self, session: AsyncSession, case_id: uuid.UUID) -> bytes | None:
        """The case's data key; None once erased."""
        row = await session.get(DataKey, case_id)
        if row is None:
            return None
        return self.master.unwrap(row.key_id, row.wrapped, associated=self._aad(case_id))

    async def erase(self, session: AsyncSession, case_id: uuid.UUID) -> None:
        await session.execute(delete(DataKey).where(DataKey.case_id == case_id))

    def lookup(self, sessions: async_sessionmaker[AsyncSession]) -> Lookup:
        """`serve_keys`'s lookup: each request reads the keyring in its own session."""

        async def find(case_id: uuid.UUID) -> bytes | None:
            async with sessions() as session:
                await read_only(session)
                return await self.get(session, case_id)

        return find

    async def rewrap(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Re-wrap, batch by batch, every data key wrapped with an older master key that is
        still configured, with the current one (rotation). Returns how many; a key wrapped
        with a master key no longer configured is left (and counted in the log)."""
        older = [kid for kid in self.master.ids() if kid != self.master.current]

        async def rewrap_one(_session: AsyncSession, row: DataKey) -> None:
            key = self.master.unwrap(row.key_id, row.wrapped, associated=self._aad(row.case_id))
            row.key_id, row.wrapped = self.master.wrap(key, associated=self._aad(row.case_id))

        query = select(DataKey).where(DataKey.key_id.in_(older)).order_by(DataKey.case_id)
        done = await in_batches(sessions, query, rewrap_one) if older else 0
        async with sessions() as session:
            known = list(self.master.ids())
            orphans = await session.scalar(
                select(DataKey.case_id).where(DataKey.key_id.not_in(known)).limit(1)
            )
        if done:
            log.info("data keys re-wrapped with the current master key", extra={"count": done})
        if orphans is not None:
            log.error(
                "some data keys are wrapped with a master key that is not configured: those "
                "cases cannot be read until it is given back in INTAKE_MASTER_KEYS"
            )
        return done
