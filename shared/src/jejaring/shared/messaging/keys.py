"""A case's data key, asked for over NATS (request-reply, never stored by JetStream).

Intake keeps the keyring (`serve_keys`); referral asks for a case's key when it must read the
case's sealed fields (`KeyClient`). The request carries a one-time X25519 public key and the
answer is sealed to it (`jejaring.shared.crypto.seal_to`), so only the asker can open it even
though NATS carries it. Which identity may ask and which may answer is NATS authorization
(cli natsconfig). An erased (or never sealed) case is answered with no key.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel, ValidationError

from jejaring.shared import crypto

log = logging.getLogger(__name__)

KEYS_SUBJECT = "keys.v1.case"
_PURPOSE = "key.reply"


class KeyRequest(BaseModel):
    case_id: uuid.UUID
    reply_key: str  # the asker's one-time X25519 public key, base64url


class KeyReply(BaseModel):
    case_id: uuid.UUID
    key: str | None = None  # the data key sealed to reply_key; None: no key (erased or none)
    error: str | None = None  # the request could not be read


class KeysUnavailable(RuntimeError):
    """Nobody answered in time: the keyring's service is down or slow. Transient: try later."""


Lookup = Callable[[uuid.UUID], Awaitable[bytes | None]]


async def serve_keys(nc: NATS, lookup: Lookup, *, queue: str = "keyring") -> Subscription:
    """Answer key requests with `lookup(case_id)` (the data key, or None if the case has none):
    replicas share the work through the queue group."""

    async def answer(msg: Msg) -> None:
        try:
            request = KeyRequest.model_validate_json(msg.data)
        except ValidationError:
            refusal = KeyReply(case_id=uuid.UUID(int=0), error="bad request")
            await msg.respond(refusal.model_dump_json().encode())
            return
        key = await lookup(request.case_id)
        reply = KeyReply(case_id=request.case_id)
        if key is not None:
            try:
                reply.key = crypto.seal_to(
                    request.reply_key, key, associated=crypto.aad(request.case_id, _PURPOSE)
                )
            except crypto.Unreadable:
                reply = KeyReply(case_id=request.case_id, error="bad reply_key")
        await msg.respond(reply.model_dump_json().encode())

    return await nc.subscribe(KEYS_SUBJECT, queue=queue, cb=answer)


class KeyClient:
    """Asks for data keys and keeps each for `ttl` seconds in memory (never on disk), so that
    routing a case asks once; `forget` drops one at once (the case was erased)."""

    def __init__(self, nc: NATS, *, timeout: float = 2.0, ttl: float = 60.0) -> None:
        self._nc = nc
        self._timeout = timeout
        self._ttl = ttl
        self._cache: dict[uuid.UUID, tuple[float, bytes | None]] = {}

    def forget(self, case_id: uuid.UUID) -> None:
        self._cache.pop(case_id, None)

    async def get(self, case_id: uuid.UUID) -> bytes | None:
        """The case's data key; None when the keyring has none (erased, or never sealed).
        `KeysUnavailable` when nobody answers."""
        now = time.monotonic()
        hit = self._cache.get(case_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        recipient = crypto.Recipient()
        request = KeyRequest(case_id=case_id, reply_key=recipient.public)
        try:
            msg = await self._nc.request(
                KEYS_SUBJECT, request.model_dump_json().encode(), timeout=self._timeout
            )
        except (NatsTimeout, NoRespondersError, TimeoutError) as exc:
            raise KeysUnavailable("no answer from the keyring") from exc
        reply = KeyReply.model_validate_json(msg.data)
        if reply.error or reply.case_id != case_id:
            raise KeysUnavailable(f"keyring refused the request: {reply.error or 'wrong case'}")
        key = (
            recipient.open(reply.key, associated=crypto.aad(case_id, _PURPOSE))
            if reply.key
            else None
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[case_id] = (now + self._ttl, key)
        return key
