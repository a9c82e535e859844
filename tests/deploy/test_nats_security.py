"""The generated NATS authorization on a real nats-server: each service may do only what it
does, the provisioner only provision, each partner key reach only its own stream and replies;
keys that expire or are dropped from the configuration are refused after the sync."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout

from jejaring.cli import natsconfig
from jejaring.cli.partners import new_user_seed
from jejaring.cli.stack import provision, signal_reload
from jejaring.intake.app import create_runtime as intake_runtime
from jejaring.intake.settings import IntakeSettings
from jejaring.report.consumers import CASES_CONSUMER as REPORT_CASES
from jejaring.shared import crypto
from jejaring.shared.messaging import runtime as runtime_module
from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.shared.messaging.keys import KEYS_SUBJECT, KeyClient, serve_keys
from jejaring.shared.messaging.natsserver import NatsServer, free_port, server_config
from jejaring.shared.messaging.provision import (
    agency_consumer_spec,
    agency_stream_spec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)
from jejaring.shared.messaging.runtime import NotProvisioned, ServiceRuntime

PASSWORDS = {
    "intake": "intake-password-0001",
    "referral": "referral-password-01",
    "notify": "notify-password-0001",
    "report": "report-password-0001",
    "provisioner": "provisioner-pass-001",
    "operator": "operator-password-01",
}
PARTNERS = ("posbakum-aisyiyah", "polresta-ppa")
SEEDS = {slug: new_user_seed() for slug in PARTNERS}
BINARY = str(Path(sys.executable).parent / "nats-server")
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
REFUSED = (NatsTimeout, TimeoutError, nats.errors.NoRespondersError, nats.js.errors.APIError)
# A refused call is never answered: how long to wait for the answer before counting it refused.
# Calls that must succeed get 5 s, so that a stall of this machine does not fail them.
REFUSAL_S = 0.5


def partner_keys(expires: dt.datetime = LATER) -> list[natsconfig.PartnerKey]:
    return [natsconfig.PartnerKey(slug, pub, expires) for slug, (_, pub) in SEEDS.items()]


def hashes() -> dict[str, str]:
    return {s: natsconfig.bcrypt_hash(p) for s, p in PASSWORDS.items()}


def auth_block(keys: list[natsconfig.PartnerKey] | None = None) -> str:
    return natsconfig.authorization(hashes(), partner_keys() if keys is None else keys)


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
        self.nc, self.errors, self.js = nc, errors, nc.jetstream(timeout=5)

    async def refused(self, coro) -> str:  # type: ignore[no-untyped-def]
        """Run a NATS call that must be refused; return the server's violation message."""
        before = len(self.errors)
        with pytest.raises(REFUSED):
            await coro
        await self.nc.flush()
        violations = [e for e in self.errors[before:] if "permissions violation" in e.lower()]
        assert violations, self.errors[before:]
        return violations[0].lower()

    async def api_refused(self, subject: str) -> None:
        assert subject.lower() in await self.refused(
            self.nc.request(subject, b"{}", timeout=REFUSAL_S)
        )

    async def publish_refused(self, subject: str) -> str:
        """Publish to JetStream where this user may not; the server's violation message."""
        return await self.refused(self.js.publish(subject, b"{}", timeout=REFUSAL_S))

    async def subscribe_refused(self, subject: str) -> None:
        await self.nc.subscribe(subject)
        for _ in range(40):
            if any(f'subscription to "{subject.lower()}"' in e.lower() for e in self.errors):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"subscribing to {subject} was not refused: {self.errors}")


async def connect(server: NatsServer, name: str) -> Client:
    """As a service or the provisioner (password), or as a partner (its NKey seed)."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    if name in SEEDS:
        creds: dict[str, str] = {"nkeys_seed_str": SEEDS[name][0].decode()}
    else:
        creds = {"user": natsconfig.service_user(name), "password": PASSWORDS[name]}
    nc = await nats.connect(
        server.url,
        inbox_prefix=inbox_prefix(name),
        error_cb=on_error,
        allow_reconnect=False,
        **creds,  # type: ignore[arg-type]
    )
    return Client(nc, errors)


@pytest.fixture
async def provisioned(secured: NatsServer) -> AsyncIterator[NatsServer]:
    """The contract streams and the services' consumers made by the provisioner; partner
    streams and consumers made by referral's own user, as partner add does."""
    made = await provision(secured.url, PASSWORDS["provisioner"])
    assert "stream CASES: created" in made
    assert "consumer CASES/referral-cases: created" in made
    referral = await connect(secured, "referral")
    for slug in PARTNERS:
        assert await ensure_stream(referral.js, agency_stream_spec(slug)) == "created"
        assert await ensure_consumer(referral.js, agency_consumer_spec(slug)) == "created"
        await referral.js.publish(f"referral.v1.to.{slug}.requested", b"{}")
    await referral.js.publish("referral.v1.event.accepted", b"{}")
    await referral.nc.close()
    intake = await connect(secured, "intake")
    await intake.js.publish("case.v1.created", b'{"victim": "someone"}')
    # case work for notify's consumer (a survivor's feedback request, issue 20)
    await intake.js.publish("case.v1.feedback.requested", b"{}")
    await intake.nc.close()
    partner = await connect(secured, "polresta-ppa")
    await partner.js.publish("referral.v1.from.polresta-ppa.accepted", b"{}")
    await partner.nc.close()
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


def test_no_identity_holds_the_whole_api_or_every_inbox() -> None:
    """No `$JS.API.>`, no `_INBOX.>` and no delete or purge, for anyone but the provisioner,
    whose `$JS.API.>` excludes deleting, purging and reading messages."""
    for name in natsconfig.SERVICES:
        perms = natsconfig.service_permissions(name)
        allowed = perms["publish"]["allow"]
        text = json.dumps(allowed)
        assert "$JS.API.>" not in text and "PURGE" not in text, name
        # referral takes a request its partner has not fetched off that partner's stream
        # (retention), never a message of a fixed stream
        deletes = [a for a in allowed if "DELETE" in a]
        # report deletes (and makes again) its own two durables to rebuild, nothing else
        own = [
            f"$JS.API.CONSUMER.DELETE.{spec.stream}.{spec.durable}"
            for spec in natsconfig.declarations()[name].consumers
        ]
        expected = {
            "referral": ["$JS.API.STREAM.MSG.DELETE.*"],
            "report": own,
        }.get(name, [])
        assert deletes == expected, name
        if name == "referral":
            denied = perms["publish"]["deny"]
            assert all(f"$JS.API.STREAM.MSG.DELETE.{s}" in denied for s in natsconfig.FIXED_STREAMS)
        serves = natsconfig.declarations()[name].serves  # request-reply it answers
        assert perms["subscribe"]["allow"] == [f"_INBOX_{name}.>", *serves]
    denied = natsconfig.provisioner_permissions()["publish"]["deny"]
    assert "$JS.API.STREAM.DELETE.>" in denied and "$JS.API.STREAM.PURGE.>" in denied
    operator = natsconfig.operator_permissions()
    assert [a for a in operator["publish"]["allow"] if "DELETE" in a or "PURGE" in a] == [
        "$JS.API.STREAM.MSG.DELETE.DLQ"
    ]
    assert operator["subscribe"]["allow"] == ["_INBOX_operator.>"]


async def test_each_service_does_its_real_work(provisioned: NatsServer) -> None:
    """Intake: publish cases, pull and ack referral events. Referral: pull and ack cases and
    replies, publish to partners and referral events, create a partner stream and its consumer,
    read a partner stream's message by sequence (stream repair) and delete one (a cancelled
    request the partner has not fetched). Notify: pull and ack referral events and case work.
    Report: pull and ack cases and referral events through its two durables. Each checks the contract at start with INFO only."""
    for name, ident in natsconfig.declarations().items():
        c = await connect(provisioned, name)
        for spec in contract_streams():
            assert await ensure_stream(c.js, spec) == "unchanged"
        for consumer in ident.consumers:
            assert await ensure_consumer(c.js, consumer) == "unchanged"
            sub = await c.js.pull_subscribe_bind(consumer.durable, consumer.stream)
            (msg,) = await sub.fetch(1, timeout=3)
            await msg.ack_sync()
        await c.js.publish(f"dlq.v1.{name}.x", b"{}")
        await c.nc.close()
    referral = await connect(provisioned, "referral")
    assert (await referral.js.publish("referral.v1.to.polresta-ppa.updated", b"{}")).seq == 2
    assert await ensure_stream(referral.js, agency_stream_spec("new-partner")) == "created"
    assert await ensure_consumer(referral.js, agency_consumer_spec("new-partner")) == "created"
    assert (await referral.js.get_msg("AGENCY_POLRESTA_PPA", 1)).seq == 1
    assert await referral.js.delete_msg("AGENCY_POLRESTA_PPA", 2)  # a request taken back
    await referral.nc.close()


async def test_only_referral_and_notify_may_ask_intake_for_a_case_key(
    provisioned: NatsServer,
) -> None:
    """The key service: intake answers keys.v1.case (its reply allowed by `allow_responses`)
    and referral and notify (a survivor's sealed phone) get the key; neither may listen in (only
    intake serves), and a partner may neither ask nor listen in."""
    key, case_id = crypto.new_data_key(), uuid.uuid4()

    async def lookup(asked: uuid.UUID) -> bytes | None:
        return key if asked == case_id else None

    intake = await connect(provisioned, "intake")
    await serve_keys(intake.nc, lookup)
    await intake.nc.flush()
    askers = [await connect(provisioned, name) for name in ("referral", "notify")]
    for asker in askers:
        assert await KeyClient(asker.nc).get(case_id) == key
        assert await KeyClient(asker.nc).get(uuid.uuid4()) is None
        await asker.subscribe_refused(KEYS_SUBJECT)
    partner = await connect(provisioned, "polresta-ppa")
    violation = await partner.refused(partner.nc.request(KEYS_SUBJECT, b"{}", timeout=REFUSAL_S))
    assert KEYS_SUBJECT in violation
    await partner.subscribe_refused(KEYS_SUBJECT)
    await partner.nc.close()
    assert intake.errors == []
    for asker in askers:
        await asker.nc.close()
    await intake.nc.close()


async def test_services_are_refused_what_they_do_not_do(provisioned: NatsServer) -> None:
    notify = await connect(provisioned, "notify")
    # read a child's name from CASES: through referral's consumer, by sequence, or a new one
    await notify.api_refused("$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases")
    await notify.api_refused("$JS.API.STREAM.MSG.GET.CASES")
    await notify.api_refused("$JS.API.DIRECT.GET.CASES")
    await notify.api_refused("$JS.API.CONSUMER.CREATE.CASES.spy")
    await notify.api_refused("$JS.API.CONSUMER.DURABLE.CREATE.CASES.spy")
    # read the police stream; purge the DLQ; delete a partner's stream
    await notify.api_refused("$JS.API.CONSUMER.MSG.NEXT.AGENCY_POLRESTA_PPA.polresta-ppa")
    await notify.api_refused("$JS.API.STREAM.PURGE.DLQ")
    await notify.api_refused("$JS.API.STREAM.DELETE.AGENCY_POLRESTA_PPA")
    await notify.api_refused("$JS.API.CONSUMER.DELETE.REFERRAL_EVENTS.intake-referral-events")
    # ack intake's messages; publish what others publish
    await notify.api_refused("$JS.ACK.REFERRAL_EVENTS.intake-referral-events.1.1.1.1.0")
    assert "case.v1.created" in await notify.publish_refused("case.v1.created")
    await notify.subscribe_refused("_INBOX_referral.>")
    await notify.subscribe_refused("_INBOX.>")

    intake = await connect(provisioned, "intake")
    await intake.api_refused("$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases")
    await intake.api_refused("$JS.API.STREAM.CREATE.MINE")
    await intake.api_refused("$JS.API.STREAM.UPDATE.CASES")
    await intake.api_refused("$JS.API.CONSUMER.CREATE.AGENCY_POSBAKUM_AISYIYAH.x")
    assert "referral.v1.event.accepted" in await intake.publish_refused(
        "referral.v1.event.accepted"
    )
    assert "dlq.v1.notify.x" in await intake.publish_refused("dlq.v1.notify.x")
    await intake.subscribe_refused("_INBOX_notify.>")

    referral = await connect(provisioned, "referral")
    for api in (
        "$JS.API.STREAM.PURGE.DLQ",
        "$JS.API.STREAM.DELETE.AGENCY_POLRESTA_PPA",
        "$JS.API.STREAM.MSG.DELETE.CASES",
        "$JS.API.STREAM.MSG.DELETE.DLQ",
        "$JS.API.STREAM.MSG.DELETE.REPLIES",
        "$JS.API.CONSUMER.DELETE.AGENCY_POLRESTA_PPA.polresta-ppa",
        "$JS.API.STREAM.CREATE.CASES",
        "$JS.API.STREAM.UPDATE.REPLIES",
        "$JS.API.STREAM.MSG.GET.CASES",
        "$JS.API.CONSUMER.CREATE.CASES.spy",
        "$JS.API.CONSUMER.CREATE.CASES.spy.case.v1.>",
        "$JS.API.CONSUMER.DURABLE.CREATE.DLQ.spy",
        "$JS.API.CONSUMER.MSG.NEXT.REFERRAL_EVENTS.notify-referral-events",
        "$JS.ACK.REFERRAL_EVENTS.notify-referral-events.1.1.1.1.0",
    ):
        await referral.api_refused(api)
    await referral.subscribe_refused("_INBOX_posbakum-aisyiyah.>")

    provisioner = await connect(provisioned, "provisioner")
    for api in (
        "$JS.API.STREAM.PURGE.DLQ",
        "$JS.API.STREAM.DELETE.CASES",
        "$JS.API.STREAM.MSG.GET.CASES",
        "$JS.API.DIRECT.GET.CASES",
        "$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases",
    ):
        await provisioner.api_refused(api)
    assert "case.v1.created" in await provisioner.publish_refused("case.v1.created")
    for c in (notify, intake, referral, provisioner):
        await c.nc.close()


async def test_report_pulls_its_own_consumers_and_can_publish_no_case_nor_referral_event(
    provisioned: NatsServer,
) -> None:
    """Report only reads: it pulls and acks through report-cases and report-referral-events
    (made by the provisioner), and may publish no event of the contract (a case, a referral
    event, a request to a partner, a partner's reply), ask for no case key, read no stream
    by sequence, pull through no one else's consumer, make no consumer but its own two again
    (its rebuild deletes and makes them anew), and receive on no inbox but its own."""
    report = await connect(provisioned, "report")
    pulled = {}
    for stream, durable in (
        ("CASES", "report-cases"),
        ("REFERRAL_EVENTS", "report-referral-events"),
    ):
        sub = await report.js.pull_subscribe_bind(durable, stream)
        (msg,) = await sub.fetch(1, timeout=3)
        await msg.ack_sync()
        pulled[durable] = msg.subject
        info = await report.js.consumer_info(stream, durable)
        assert (info.num_ack_pending, info.num_pending) == (0, 0), durable
    assert pulled == {
        "report-cases": "case.v1.created",
        "report-referral-events": "referral.v1.event.accepted",
    }
    for subject in (
        "case.v1.created",
        "case.v1.updated",
        "case.v1.closed",
        "case.v1.erased",
        "referral.v1.event.accepted",
        "referral.v1.event.status_changed",
        "referral.v1.to.polresta-ppa.requested",
        "referral.v1.from.polresta-ppa.accepted",
        "dlq.v1.referral.x",
    ):
        assert subject in await report.publish_refused(subject), subject
    assert KEYS_SUBJECT in await report.refused(
        report.nc.request(KEYS_SUBJECT, b"{}", timeout=REFUSAL_S)
    )
    for api in (
        "$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases",
        "$JS.API.CONSUMER.MSG.NEXT.REFERRAL_EVENTS.notify-referral-events",
        "$JS.API.CONSUMER.MSG.NEXT.REPLIES.referral-replies",
        "$JS.API.CONSUMER.MSG.NEXT.AGENCY_POLRESTA_PPA.polresta-ppa",
        "$JS.API.STREAM.MSG.GET.CASES",
        "$JS.API.DIRECT.GET.CASES",
        "$JS.API.CONSUMER.CREATE.CASES.spy",
        "$JS.API.CONSUMER.DURABLE.CREATE.REFERRAL_EVENTS.spy",
        "$JS.API.CONSUMER.DELETE.CASES.referral-cases",
        "$JS.API.CONSUMER.DELETE.REFERRAL_EVENTS.notify-referral-events",
        "$JS.API.STREAM.PURGE.CASES",
        "$JS.API.STREAM.CREATE.CASES",
        "$JS.ACK.CASES.referral-cases.1.1.1.1.0",
    ):
        await report.api_refused(api)
    for subject in ("case.v1.>", "referral.v1.>", "_INBOX.>", "_INBOX_referral.>", KEYS_SUBJECT):
        await report.subscribe_refused(subject)
    # Its rebuild: its own durable deleted and made again, reading CASES from the start.
    await report.js.delete_consumer("CASES", "report-cases")
    await report.js.add_consumer("CASES", config=REPORT_CASES.config())
    sub = await report.js.pull_subscribe_bind("report-cases", "CASES")
    (msg,) = await sub.fetch(1, timeout=3)
    assert msg.subject == "case.v1.created"
    await report.nc.close()


async def test_the_operator_reads_replays_and_discards_dead_letters_and_nothing_else(
    provisioned: NatsServer,
) -> None:
    """`jejaring dlq`'s identity: it reads a dead letter (the only place it sees a body),
    replays it on its original subject, records a discard and deletes; it cannot read CASES,
    the partner streams or REPLIES, pull through anyone's consumer, purge, forge a service's
    dead letter, write to a partner or as a partner, or receive on another's inbox."""
    from jejaring.cli import dlq

    intake = await connect(provisioned, "intake")
    await intake.js.publish(
        "dlq.v1.intake.referral.v1.event.accepted",
        b'{"victim": "someone"}',
        headers={
            "ce-id": "e-1",
            "ce-type": "org.jejaring.referral.status_changed.v1",
            dlq.DLQ_SUBJECT: "referral.v1.event.accepted",
            dlq.DLQ_REASON: "bug",
        },
    )
    await intake.nc.close()
    operator = await connect(provisioned, "operator")
    (letter,) = await dlq.dead_letters(operator.js)
    assert letter.body == b'{"victim": "someone"}'
    before = (await operator.js.stream_info("DLQ")).state.messages
    assert "replayed as REFERRAL_EVENTS 2" in await dlq.replay(operator.js, letter)
    assert (await operator.js.stream_info("DLQ")).state.messages == before - 1
    await operator.js.publish("case.v1.created", b"{}")  # a replay of a case event
    await operator.js.publish(dlq.DISCARDED, b"")
    for api in (
        "$JS.API.STREAM.MSG.GET.CASES",
        "$JS.API.STREAM.MSG.GET.REPLIES",
        "$JS.API.STREAM.MSG.GET.REFERRAL_EVENTS",
        "$JS.API.STREAM.MSG.GET.AGENCY_POLRESTA_PPA",
        "$JS.API.DIRECT.GET.CASES",
        "$JS.API.DIRECT.GET.AGENCY_POLRESTA_PPA",
        "$JS.API.STREAM.INFO.CASES",
        "$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases",
        "$JS.API.CONSUMER.MSG.NEXT.AGENCY_POLRESTA_PPA.polresta-ppa",
        "$JS.API.CONSUMER.CREATE.CASES.spy",
        "$JS.API.CONSUMER.CREATE.DLQ.spy",
        "$JS.API.CONSUMER.DURABLE.CREATE.AGENCY_POLRESTA_PPA.spy",
        "$JS.API.STREAM.PURGE.DLQ",
        "$JS.API.STREAM.DELETE.DLQ",
        "$JS.API.STREAM.MSG.DELETE.CASES",
        "$JS.API.STREAM.UPDATE.DLQ",
    ):
        await operator.api_refused(api)
    for subject in (
        "referral.v1.to.polresta-ppa.requested",
        "referral.v1.from.polresta-ppa.accepted",
        "dlq.v1.referral.case.v1.created",
    ):
        assert subject in await operator.publish_refused(subject)
    await operator.subscribe_refused("_INBOX_referral.>")
    await operator.subscribe_refused("_INBOX.>")
    await operator.nc.close()


async def test_a_partner_reads_and_acks_its_own_stream_and_publishes_its_replies(
    provisioned: NatsServer,
) -> None:
    a = await connect(provisioned, "posbakum-aisyiyah")
    sub = await a.js.pull_subscribe_bind(
        durable="posbakum-aisyiyah", stream="AGENCY_POSBAKUM_AISYIYAH"
    )
    (msg,) = await sub.fetch(1, timeout=3)
    await msg.ack_sync()
    ack = await a.js.publish("referral.v1.from.posbakum-aisyiyah.accepted", b"{}")
    assert ack.stream == "REPLIES"
    await a.nc.close()


async def test_a_partner_is_refused_everything_else(provisioned: NatsServer) -> None:
    a = await connect(provisioned, "posbakum-aisyiyah")
    other = await a.js.pull_subscribe_bind(durable="polresta-ppa", stream="AGENCY_POLRESTA_PPA")
    assert "agency_polresta_ppa" in await a.refused(other.fetch(1, timeout=REFUSAL_S))
    for subject in (
        "referral.v1.from.polresta-ppa.accepted",  # answering as another partner
        "case.v1.created",  # internal subjects
        "referral.v1.event.accepted",
        "referral.v1.to.posbakum-aisyiyah.requested",  # forging its own referrals
        "dlq.v1.referral.x",
    ):
        assert subject in await a.publish_refused(subject)
    for api in (
        "$JS.API.CONSUMER.MSG.NEXT.CASES.referral-cases",  # a child's name in CASES
        "$JS.API.CONSUMER.CREATE.CASES.spy",
        "$JS.API.CONSUMER.CREATE.AGENCY_POSBAKUM_AISYIYAH.x",
        "$JS.API.CONSUMER.DURABLE.CREATE.AGENCY_POSBAKUM_AISYIYAH.x",
        "$JS.API.CONSUMER.DELETE.AGENCY_POSBAKUM_AISYIYAH.posbakum-aisyiyah",
        "$JS.API.STREAM.DELETE.AGENCY_POLRESTA_PPA",
        "$JS.API.STREAM.PURGE.DLQ",
        "$JS.API.STREAM.CREATE.MINE",
        "$JS.API.STREAM.MSG.GET.AGENCY_POLRESTA_PPA",
        "$JS.ACK.AGENCY_POLRESTA_PPA.polresta-ppa.1.1.1.1.0",  # acking another's referral
    ):
        await a.api_refused(api)
    await a.subscribe_refused("_INBOX.>")  # listening on everyone's replies
    await a.subscribe_refused("_INBOX_polresta-ppa.>")
    await a.nc.close()


async def test_wrong_or_missing_credentials_cannot_connect(secured: NatsServer) -> None:
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(
            secured.url, user="svc-notify", password="wrong-password-000", allow_reconnect=False
        )
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(secured.url, allow_reconnect=False)
    stranger, _ = new_user_seed()  # a well-formed key the configuration does not hold
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(secured.url, nkeys_seed_str=stranger.decode(), allow_reconnect=False)


async def test_a_service_that_may_not_create_a_missing_stream_is_not_ready_and_says_why(
    secured: NatsServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing provisioned: intake's runtime is refused the creation of CASES, reports it in
    its readiness and logs one line naming the stream and `jejaring provision`; once the
    provisioner has run, it goes on by itself."""
    settings = IntakeSettings(
        data_dir=tmp_path / "intake",
        nats_url=secured.url,
        nats_user="svc-intake",
        nats_password=PASSWORDS["intake"],
    )
    runtime: ServiceRuntime = intake_runtime(settings)
    monkeypatch.setattr(runtime_module, "NOT_PROVISIONED_RETRY_S", 0.5)
    caplog.set_level(logging.INFO, logger="jejaring.shared.messaging")
    await runtime.start()
    try:
        for _ in range(200):
            streams = (await runtime.readiness())["streams"]
            if streams != "not provisioned":
                break
            await asyncio.sleep(0.1)
        assert "stream CASES" in streams and "jejaring provision" in streams, streams
        await asyncio.sleep(12)  # two more rounds, each refused: not said again
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1 and "stream CASES" in lines[0] and "jejaring provision" in lines[0]
        refusals = [r for r in caplog.records if "permissions violation" in str(r.__dict__)]
        assert len(refusals) == 1, refusals
        with pytest.raises(NotProvisioned, match="stream CASES"):
            await runtime.provision(contract_streams(), [])

        await provision(secured.url, PASSWORDS["provisioner"])
        for _ in range(300):
            if (await runtime.readiness())["streams"] == "ok":
                break
            await asyncio.sleep(0.1)
        assert (await runtime.readiness())["streams"] == "ok"
    finally:
        await runtime.stop()


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[NatsServer, natsconfig.AuthSync]]:
    """A server whose whole configuration an AuthSync writes, with referral unreachable (so
    the keys come from the last list fetched, as during a referral outage)."""
    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log")
    config = tmp_path / "nats.conf"
    server.config_file = config

    def render(keys: list[natsconfig.PartnerKey]) -> str:
        return server_config(
            host=server.host,
            port=server.port,
            monitor_port=server.monitor_port,
            store_dir=server.store_dir,
            extra=auth_block(keys),
        )

    sync = natsconfig.AuthSync(
        out=config,
        render=render,
        referral_url=f"http://127.0.0.1:{free_port()}",  # nobody answers there
        admin_token="unused-admin-token-000000",
        cache=tmp_path / "keys.json",
        reload=lambda: signal_reload(pid=server.process.pid if server.process else None),
    )
    try:
        yield server, sync
    finally:
        server.stop()


def _write_cache(sync: natsconfig.AuthSync, keys: list[natsconfig.PartnerKey]) -> None:
    natsconfig.write_private(sync.cache, json.dumps([k.to_json() for k in keys]))


async def _refused_after(server: NatsServer, slug: str, nc: NATS, started: float) -> float:
    """Seconds from `started` until `nc` was closed by the server and a new connection with
    the same key is refused."""
    for _ in range(100):
        if not nc.is_connected:
            break
        await asyncio.sleep(0.05)
    assert not nc.is_connected, "the connection of a key no longer valid is still open"
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(
            server.url, nkeys_seed_str=SEEDS[slug][0].decode(), allow_reconnect=False
        )
    return time.monotonic() - started


async def test_an_expired_key_is_dropped_by_the_sync_even_without_referral(
    synced: tuple[NatsServer, natsconfig.AuthSync],
) -> None:
    server, sync = synced
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    _write_cache(
        sync, [natsconfig.PartnerKey("posbakum-aisyiyah", SEEDS["posbakum-aisyiyah"][1], soon)]
    )
    changed, problem = sync.once()
    assert changed and problem is not None  # referral down: the cached list is used
    assert oct(sync.out.stat().st_mode & 0o777) == "0o600"
    server.start()
    nc = await nats.connect(
        server.url,
        nkeys_seed_str=SEEDS["posbakum-aisyiyah"][0].decode(),
        allow_reconnect=False,
    )
    assert sync.once()[0] is False  # nothing changed yet: no reload
    while dt.datetime.now(dt.UTC) < soon:
        await asyncio.sleep(0.1)
    started = time.monotonic()
    assert sync.once()[0] is True
    seconds = await _refused_after(server, "posbakum-aisyiyah", nc, started)
    print(f"expired key refused {seconds:.2f} s after the sync round")
    assert seconds < 5


async def test_a_key_left_out_of_referrals_list_is_refused_after_the_sync(
    synced: tuple[NatsServer, natsconfig.AuthSync],
) -> None:
    """Revoked, or of a deactivated partner: referral no longer lists it. The reload closes
    that key's open connection; the other partner's stays."""
    server, sync = synced
    _write_cache(sync, partner_keys())
    sync.once()
    server.start()
    gone = await nats.connect(
        server.url, nkeys_seed_str=SEEDS["polresta-ppa"][0].decode(), allow_reconnect=False
    )
    stays = await connect(server, "posbakum-aisyiyah")
    _write_cache(sync, [k for k in partner_keys() if k.slug != "polresta-ppa"])
    started = time.monotonic()
    assert sync.once()[0] is True
    seconds = await _refused_after(server, "polresta-ppa", gone, started)
    print(f"revoked key refused {seconds:.2f} s after the sync round")
    assert seconds < 5
    assert stays.nc.is_connected
    await stays.nc.flush(timeout=2)
    await stays.nc.close()


JEJARING = str(Path(sys.executable).parent / "jejaring")


async def test_the_compose_commands_provision_and_keep_the_authorization_in_step(
    tmp_path: Path,
) -> None:
    """What compose runs: `jejaring nats-auth-sync` writes the included authorization and
    reloads the server (here with referral unreachable, from the last list fetched), and
    `jejaring provision` makes the streams and consumers as the provisioner."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JEJARING_")},
        **{natsconfig.password_env(n): p for n, p in PASSWORDS.items()},
        "REFERRAL_ADMIN_TOKEN": "admin-token-for-tests-0123456789",
        "JEJARING_REFERRAL_URL": f"http://127.0.0.1:{free_port()}",
        "JEJARING_DATA_DIR": str(tmp_path / "data"),
    }
    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log")
    auth = tmp_path / "auth.conf"
    server.write_config('include "auth.conf"\n')
    cache = tmp_path / ".auth.conf.partner-keys.json"
    cache.write_text(json.dumps([k.to_json() for k in partner_keys()]))

    def sync() -> str:
        pid = str(server.process.pid) if server.process else "999999"
        done = subprocess.run(
            [JEJARING, "nats-auth-sync", "--config", str(auth), "--pid", pid, "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "referral did not answer" in sync()
    server.start()
    try:
        made = subprocess.run(
            [JEJARING, "provision", "--nats-url", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        assert "stream CASES: created" in made.stdout
        assert "consumer REFERRAL_EVENTS/notify-referral-events: created" in made.stdout
        polresta = await connect(server, "polresta-ppa")
        assert (await polresta.js.publish("referral.v1.from.polresta-ppa.accepted", b"{}")).seq
        cache.write_text(json.dumps([k.to_json() for k in partner_keys()][:1]))
        assert "reloaded" in sync()
        for _ in range(50):
            if not polresta.nc.is_connected:
                break
            await asyncio.sleep(0.05)
        assert not polresta.nc.is_connected
        with pytest.raises(Exception, match="(?i)authorization"):
            await connect(server, "polresta-ppa")
        posbakum = await connect(server, "posbakum-aisyiyah")
        assert posbakum.nc.is_connected
        await posbakum.nc.close()
    finally:
        server.stop()
