"""Explicit provisioning against a real nats-server: create, update, and loud drift."""

from __future__ import annotations

import dataclasses

import pytest
from nats.js.api import StorageType

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
