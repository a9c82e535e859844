"""A relay in its own process that kills itself (SIGKILL) right after the PubAcks arrive,
before it marks the rows sent: the crash the outbox must survive."""

import asyncio
import os
import signal
import sys

import nats

from jejaring.shared import db
from jejaring.shared.messaging.outbox import OutboxRelay


async def main(database_url: str, nats_url: str) -> None:
    engine = db.create_engine(database_url)
    nc = await nats.connect(nats_url)
    relay = OutboxRelay(
        sessions=db.session_factory(engine),
        js=nc.jetstream(),
        after_publish=lambda ids: os.kill(os.getpid(), signal.SIGKILL),
    )
    await relay.relay_once()
    print("not reached", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
