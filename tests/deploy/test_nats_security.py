"""The generated NATS authorization on a real nats-server: each partner reaches only its own
stream and replies; each service only what it does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout

from jejaring.cli import natsconfig
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.shared.messaging.provision import (
    agency_consumer_spec,
    agency_stream_spec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)

PASSWORDS = {
    "intake": "intake-password-0001",
    "referral": "referral-password-01",
    "notify": "notify-password-0001",
}
PARTNERS = {"posbakum-aisyiyah": "posbakum-secret-0001", "polresta-ppa": "polresta-secret-0001"}
BINARY = str(Path(sys.executable).parent / "nats-server")


def auth_block() -> str:
    return natsconfig.authorization(
        {s: natsconfig.bcrypt_hash(p) for s, p in PASSWORDS.items()},
        [(slug, natsconfig.bcrypt_hash(p)) for slug, p in PARTNERS.items()],
    )


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log")
    server.write_config(auth_block())
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Client:
    def __init__(self, nc: NATS, errors: list[str]) -> None:
        self.nc, self.errors, self.js = nc, errors, nc.jetstream(timeout=0.5)

    async def refused(self, coro) -> str:  # type: ignore[no-untyped-def]
        """Run a NATS call that must be refused; return the server's violation message."""
        before = len(self.errors)
        with pytest.raises(
            (NatsTimeout, TimeoutError, nats.errors.NoRespondersError, nats.js.errors.APIError)
        ):
            await coro
        await self.nc.flush()
        violations = [e for e in self.errors[before:] if "permissions violation" in e.lower()]
        assert violations, self.errors[before:]
        return violations[0]


async def connect(server: NatsServer, user: str, password: str, inbox: str = "_INBOX") -> Client:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        server.url, user=user, password=password, inbox_prefix=inbox, error_cb=on_error
    )
    return Client(nc, errors)


@pytest.fixture
async def provisioned(secured: NatsServer) -> AsyncIterator[NatsServer]:
    """Streams and partner consumers made by the referral service's own user."""
    referral = await connect(secured, "svc-referral", PASSWORDS["referral"])
    for spec in contract_streams():
        await ensure_stream(referral.js, spec)
    for slug in PARTNERS:
        await ensure_stream(referral.js, agency_stream_spec(slug))
        await ensure_consumer(referral.js, agency_consumer_spec(slug))
        await referral.js.publish(f"referral.v1.to.{slug}.requested", b"{}")
    await referral.nc.close()
    return secured


def test_the_generated_configuration_is_valid(tmp_path: Path) -> None:
    conf = tmp_path / "auth-test.conf"
    conf.write_text(
        f'listen: "127.0.0.1:4222"\njetstream {{ store_dir: "{tmp_path}" }}\n' + auth_block()
    )
    result = subprocess.run(
        [BINARY, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


async def test_a_partner_reads_and_acks_its_own_stream_and_publishes_its_replies(
    provisioned: NatsServer,
) -> None:
    a = await connect(
        provisioned,
        "partner-posbakum-aisyiyah",
        PARTNERS["posbakum-aisyiyah"],
        "_INBOX_posbakum-aisyiyah",
    )
    sub = await a.js.pull_subscribe_bind(
        durable="posbakum-aisyiyah", stream="AGENCY_POSBAKUM_AISYIYAH"
    )
    (msg,) = await sub.fetch(1, timeout=3)
    await msg.ack_sync()
    ack = await a.js.publish("referral.v1.from.posbakum-aisyiyah.accepted", b"{}")
    assert ack.stream == "REPLIES"
    await a.nc.close()


async def test_a_partner_is_refused_everything_else(provisioned: NatsServer) -> None:
    a = await connect(
        provisioned,
        "partner-posbakum-aisyiyah",
        PARTNERS["posbakum-aisyiyah"],
        "_INBOX_posbakum-aisyiyah",
    )
    other = await a.js.pull_subscribe_bind(durable="polresta-ppa", stream="AGENCY_POLRESTA_PPA")
    assert "agency_polresta_ppa" in await a.refused(other.fetch(1, timeout=0.5))
    for subject in (
        "referral.v1.from.polresta-ppa.accepted",  # answering as another partner
        "case.v1.created",  # internal subjects
        "referral.v1.event.accepted",
        "referral.v1.to.posbakum-aisyiyah.requested",  # forging its own referrals
        "dlq.v1.referral.x",
    ):
        assert subject in await a.refused(a.js.publish(subject, b"{}"))
    for api in (
        "$JS.API.CONSUMER.CREATE.AGENCY_POSBAKUM_AISYIYAH.x",
        "$JS.API.CONSUMER.DURABLE.CREATE.AGENCY_POSBAKUM_AISYIYAH.x",
        "$JS.API.CONSUMER.DELETE.AGENCY_POSBAKUM_AISYIYAH.posbakum-aisyiyah",
        "$JS.API.STREAM.DELETE.AGENCY_POLRESTA_PPA",
        "$JS.API.STREAM.CREATE.MINE",
        "$JS.API.STREAM.MSG.GET.AGENCY_POLRESTA_PPA",
    ):
        assert api.lower() in await a.refused(a.nc.request(api, b"{}", timeout=0.5))
    await a.nc.subscribe("_INBOX.>")  # listening on everyone's replies
    for _ in range(40):
        if any('subscription to "_inbox.>"' in e for e in a.errors):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"subscribing to _INBOX.> was not refused: {a.errors}")
    await a.nc.close()


async def test_services_have_only_what_they_need(provisioned: NatsServer) -> None:
    intake = await connect(provisioned, "svc-intake", PASSWORDS["intake"])
    assert (await intake.js.publish("case.v1.created", b"{}")).stream == "CASES"
    assert "referral.v1.event.accepted" in await intake.refused(
        intake.js.publish("referral.v1.event.accepted", b"{}")
    )
    notify = await connect(provisioned, "svc-notify", PASSWORDS["notify"])
    assert "case.v1.created" in await notify.refused(notify.js.publish("case.v1.created", b"{}"))
    for c in (intake, notify):
        await c.nc.close()


async def test_wrong_or_missing_credentials_cannot_connect(secured: NatsServer) -> None:
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(
            secured.url, user="partner-posbakum-aisyiyah", password="wrong", allow_reconnect=False
        )
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(secured.url, allow_reconnect=False)
