"""A partner's system gone wrong, run as its own process by test_flood.py: it publishes replies
as fast as its connection allows for a given time, with its own NATS user, a mix of
valid-looking replies and junk, and prints what the server answered to each kind (JSON).

    python flood_partner.py '{"url": ..., "seed": ..., "inbox": ...,
                              "slug": ..., "own": [ids], "others": [ids], "seconds": 20}'
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import APIError, NoStreamResponseError

from jejaring.shared.contract import envelope
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.contract.events import PartnerReplied

# valid-looking replies for its own referrals, for no referral at all, for another partner's;
# a payload that is not a reply; one over the reply size; a status that does not exist
KINDS = ("own", "own", "own", "unknown", "unknown", "others", "schema", "big", "status")
IN_FLIGHT = 64


def message(kind: str, slug: str, own: list[uuid.UUID], others: list[uuid.UUID], n: int) -> Any:
    pool = {"own": own, "others": others}.get(kind) or [uuid.uuid4()]
    referral = pool[n % len(pool)]
    reply = PartnerReplied(
        referral_id=referral,
        partner_slug=slug,
        status=ReferralStatus.ACCEPTED,
        note="junk " * 20,
        replied_at=dt.datetime.now(dt.UTC),
    )
    out = envelope.encode(reply, source=f"/partners/{slug}")
    subject, body = out.subject, out.body
    if kind == "schema":
        body = b'{"referral_id": "not a uuid", "status": 42}'
    elif kind == "big":
        body = b'{"note": "' + b"x" * 70_000 + b'"}'
    elif kind == "status":
        subject = f"referral.v1.from.{slug}.approved"
    return subject, out.headers, body


def outcome(exc: Exception) -> str:
    if isinstance(exc, APIError):
        return f"refused {exc.err_code}: {exc.description}"
    if isinstance(exc, NoStreamResponseError | NoRespondersError):
        return "no stream for the subject"
    if isinstance(exc, NatsTimeout | TimeoutError):
        return "timeout"
    return type(exc).__name__


async def flood(args: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        args["url"],
        nkeys_seed_str=args["seed"],
        inbox_prefix=args["inbox"],
        error_cb=on_error,
    )
    js = nc.jetstream(timeout=2)
    own = [uuid.UUID(r) for r in args["own"]]
    others = [uuid.UUID(r) for r in args["others"]]
    counts: Counter[str] = Counter()
    kinds = itertools.cycle(KINDS)
    stop = time.monotonic() + args["seconds"]
    started = time.monotonic()

    async def worker() -> None:
        n = 0
        while time.monotonic() < stop:
            kind = next(kinds)
            subject, headers, body = message(kind, args["slug"], own, others, n)
            n += 1
            try:
                await js.publish(subject, body, headers=headers)
                counts[f"{kind}: stored"] += 1
            except Exception as exc:
                counts[f"{kind}: {outcome(exc)}"] += 1

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.monotonic() - started
    await nc.close()
    return {"seconds": elapsed, "outcomes": dict(counts), "connection_errors": errors[:5]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(flood(json.loads(sys.argv[1])))))
