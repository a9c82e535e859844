"""Cases' data keys in a service that reads sealed case fields (referral, notify): fetched from
intake's keyring before a transaction, used in it.

Referral keeps case events as they come, personal fields sealed (`CaseSnapshot.sealed`). It
opens them only to build what a partner may read (R6), and then stores that sealed with the
same key in its outbox (the relay opens it just before publishing); notify opens a survivor's
phone sealed in `case.v1.feedback.requested`. Asking for a key is a NATS round trip that may
time out (intake down), so it is never made while a transaction is open (on SQLite that would
hold the write lock for seconds): the consumer's `prepare` step and the workers' `run` fetch
first, and code inside the transaction only takes what was fetched (`held`), raising
`KeyNeeded` (transient) if it was not.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.shared.contract import personal
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.contract.events import CaseCreated, CaseSnapshot, CaseUpdated
from jejaring.shared.messaging.keys import KeyClient, KeysUnavailable
from jejaring.shared.messaging.outbox import Seal

T = TypeVar("T")

_MAX_HELD = 10_000
_RUN_ATTEMPTS = 20


class KeyNeeded(KeysUnavailable):
    """Code in a transaction needs a case's key that was not fetched before it opened."""

    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__(f"data key of case {case_id} not fetched before the transaction")
        self.case_id = case_id


class CaseKeys:
    """Keys fetched (over the NATS connection `connection()` gives) and held `ttl` seconds in
    memory; `held` never touches the network."""

    def __init__(
        self,
        connection: Callable[[], NATS | None] = lambda: None,
        *,
        timeout: float = 2.0,
        ttl: float = 60.0,
    ) -> None:
        self._connection = connection
        self._timeout = timeout
        self._ttl = ttl
        self._client: KeyClient | None = None
        self._client_nc: NATS | None = None
        self._held: dict[uuid.UUID, tuple[float, bytes | None]] = {}

    async def fetch(self, case_id: uuid.UUID) -> bytes | None:
        """The case's key (None: erased); KeysUnavailable when the keyring does not answer."""
        nc = self._connection()
        if nc is None or not nc.is_connected:
            raise KeysUnavailable("not connected to NATS")
        if self._client is None or self._client_nc is not nc:  # a new connection, a new client
            self._client, self._client_nc = KeyClient(nc, timeout=self._timeout, ttl=self._ttl), nc
        key = await self._client.get(case_id)
        if len(self._held) > _MAX_HELD:
            self._held.clear()
        self._held[case_id] = (time.monotonic() + self._ttl, key)
        return key

    def held(self, case_id: uuid.UUID) -> bytes | None:
        """The key `fetch` brought (None: erased); `KeyNeeded` if it brought none lately."""
        hit = self._held.get(case_id)
        if hit is None or hit[0] <= time.monotonic():
            raise KeyNeeded(case_id)
        return hit[1]

    def forget(self, case_id: uuid.UUID) -> None:
        """The case was erased: its key is dropped from memory at once."""
        self._held.pop(case_id, None)
        if self._client is not None:
            self._client.forget(case_id)

    async def prepare(self, envelope: Envelope) -> None:
        """The CASES consumer's step before its transaction: a sealed case's key."""
        data = envelope.data
        if isinstance(data, CaseCreated | CaseUpdated) and data.sealed is not None:
            await self.fetch(data.case_id)

    async def for_outbox(self, kid: str) -> bytes | None:
        """The relay's key source: a sealed row names its case."""
        return await self.fetch(uuid.UUID(kid))

    async def run(self, session: AsyncSession, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`job` in a transaction of `session`; if it needs a key it did not have, the
        transaction is rolled back, the key fetched (no transaction open) and `job` run again."""
        for _ in range(_RUN_ATTEMPTS):
            try:
                async with session.begin():
                    return await job(session)
            except KeyNeeded as exc:
                await self.fetch(exc.case_id)
        raise KeysUnavailable(f"keys still missing after {_RUN_ATTEMPTS} attempts")

    def opened(self, case: CaseSnapshot) -> tuple[CaseSnapshot, Seal | None]:
        """`case` with its personal fields revealed, and how to seal what is built from them;
        a case without a seal (from before sealing) as it is, and nothing to seal with. A case
        whose key is gone comes back stripped."""
        if case.sealed is None:
            return case, None
        key = self.held(case.case_id)
        if key is None:
            return personal.strip(case), None
        return personal.reveal(case, key), (str(case.case_id), key)

    def erased(self, case: CaseSnapshot) -> bool:
        """A sealed case whose key is gone."""
        return case.sealed is not None and self.held(case.case_id) is None
