"""Explicit provisioning against a real nats-server: create, update, and loud drift."""

from __future__ import annotations

import dataclasses

import pytest
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType

from jejaring.shared.messaging.provision import (
    ConsumerSpec,
    ProvisioningDrift,
    StreamSpec,
    agency_consumer_spec,
    agency_stream_spec,
    contract_streams,
    ensure_consumer,
    ensure_stream,
)


async def test_streams_are_created_once_then_left_alone(js) -> None:
    for spec in contract_streams():
        assert await ensure_stream(js, spec) == "created"
    for spec in contract_streams():
        assert await ensure_stream(js, spec) == "unchanged"
    info = await js.stream_info("CASES")
    assert info.config.subjects == ["case.v1.>"]
    assert info.config.storage == StorageType.FILE
    assert info.config.duplicate_window == pytest.approx(7200)


async def test_updatable_settings_are_updated(js) -> None:
    spec = StreamSpec("T1", ("t1.>",), "test", max_age_s=3 * 3600)
    await ensure_stream(js, spec)
    wider = dataclasses.replace(spec, subjects=("t1.>", "t1b.>"), max_age_s=4 * 3600)
    assert await ensure_stream(js, wider) == "updated"
    info = await js.stream_info("T1")
    assert sorted(info.config.subjects) == ["t1.>", "t1b.>"]
    assert info.config.max_age == pytest.approx(4 * 3600)


async def test_drift_that_cannot_be_updated_fails_with_a_clear_message(js) -> None:
    await ensure_stream(js, StreamSpec("T2", ("t2.>",), "test", storage=StorageType.MEMORY))
    with pytest.raises(ProvisioningDrift, match=r"stream T2 .*storage: server has .*memory"):
        await ensure_stream(js, StreamSpec("T2", ("t2.>",), "test"))


async def test_consumers_are_durable_pull_consumers_and_updated_in_place(js) -> None:
    await ensure_stream(js, StreamSpec("T3", ("t3.>",), "test"))
    spec = ConsumerSpec(stream="T3", durable="reader", ack_wait_s=30)
    assert await ensure_consumer(js, spec) == "created"
    assert await ensure_consumer(js, spec) == "unchanged"
    assert await ensure_consumer(js, dataclasses.replace(spec, ack_wait_s=45)) == "updated"
    info = await js.consumer_info("T3", "reader")
    assert info.config.ack_wait == pytest.approx(45)
    assert info.config.max_deliver == -1
    assert info.config.deliver_subject is None


async def test_consumer_drift_fails_loudly(js) -> None:
    from nats.js.api import DeliverPolicy

    await ensure_stream(js, StreamSpec("T4", ("t4.>",), "test"))
    await ensure_consumer(
        js, ConsumerSpec(stream="T4", durable="r", deliver_policy=DeliverPolicy.NEW)
    )
    with pytest.raises(ProvisioningDrift, match="deliver_policy"):
        await ensure_consumer(js, ConsumerSpec(stream="T4", durable="r"))


async def test_a_partner_gets_its_own_stream_and_a_consumer_named_after_its_slug(js) -> None:
    await ensure_stream(js, agency_stream_spec("posbakum-aisyiyah"))
    await ensure_consumer(js, agency_consumer_spec("posbakum-aisyiyah"))
    info = await js.consumer_info("AGENCY_POSBAKUM_AISYIYAH", "posbakum-aisyiyah")
    assert info.stream_name == "AGENCY_POSBAKUM_AISYIYAH"
    stream = await js.stream_info("AGENCY_POSBAKUM_AISYIYAH")
    assert stream.config.subjects == ["referral.v1.to.posbakum-aisyiyah.>"]


async def test_every_contract_stream_has_its_limits_on_the_server(js) -> None:
    specs = [*contract_streams(), agency_stream_spec("polresta-ppa")]
    for spec in specs:
        await ensure_stream(js, spec)
    for spec in specs:
        assert await ensure_stream(js, spec) == "unchanged"
        config = (await js.stream_info(spec.name)).config
        assert spec.limits is not None
        assert (config.max_msgs, config.max_bytes, config.max_msg_size) == (
            spec.limits.max_msgs,
            spec.limits.max_bytes,
            spec.limits.max_msg_size,
        ), spec.name
        assert config.discard == spec.limits.discard
    replies = (await js.stream_info("REPLIES")).config
    assert replies.discard == DiscardPolicy.NEW
    assert replies.retention == RetentionPolicy.INTEREST
    assert replies.max_msgs_per_subject == 100
    assert replies.discard_new_per_subject is True


async def test_a_stream_made_before_the_limits_gets_them_in_place(js) -> None:
    """REPLIES as earlier versions made it (no limits, limits retention, any subject) is
    updated where it is: limits, interest retention, the closed set of reply subjects; what
    referral had already acked goes, what it had not stays."""
    old = StreamSpec("REPLIES", ("referral.v1.from.>",), "as before")
    await ensure_stream(js, old)
    await ensure_consumer(  # as referral's (referral.consumers.REPLIES_CONSUMER)
        js,
        ConsumerSpec(
            stream="REPLIES", durable="referral-replies", filter_subjects=("referral.v1.from.>",)
        ),
    )
    for n in range(3):
        await js.publish("referral.v1.from.polresta-ppa.accepted", b"{}", headers={"n": str(n)})
    sub = await js.pull_subscribe_bind("referral-replies", "REPLIES")
    for msg in await sub.fetch(2, timeout=3):
        await msg.ack_sync()

    (new,) = [s for s in contract_streams() if s.name == "REPLIES"]
    assert await ensure_stream(js, new) == "updated"
    assert await ensure_stream(js, new) == "unchanged"
    info = await js.stream_info("REPLIES")
    assert info.config.retention == RetentionPolicy.INTEREST
    assert info.config.max_bytes == new.limits.max_bytes  # type: ignore[union-attr]
    assert "referral.v1.from.*.accepted" in info.config.subjects
    assert info.state.messages == 1  # the one referral had not acked yet

    # and back: fewer bounds, limits retention, is an update too, never drift
    assert await ensure_stream(js, old) == "updated"


async def test_a_retention_the_server_cannot_change_in_place_is_drift(js) -> None:
    await ensure_stream(js, StreamSpec("T5", ("t5.>",), "test"))
    with pytest.raises(ProvisioningDrift, match=r"retention: server has .*limits"):
        await ensure_stream(
            js, StreamSpec("T5", ("t5.>",), "test", retention=RetentionPolicy.WORK_QUEUE)
        )
