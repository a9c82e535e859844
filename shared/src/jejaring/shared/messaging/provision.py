"""Explicit provisioning of streams and durable pull consumers (docs/design.md §5).

`ensure_stream` and `ensure_consumer` create what is missing, update what JetStream allows to be
updated, and raise `ProvisioningDrift` naming the field when the server holds something that
cannot be changed in place (storage, retention, ack policy, ...). Nothing is created implicitly by
a publish or a subscribe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from jejaring.shared.contract import subjects

log = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged"]

# Longer than the span over which an outbox row can be re-published (relay restarts, outages):
# a repeat inside the window is dropped by JetStream; consumers' inboxes catch anything later.
DUPLICATE_WINDOW_S = 2 * 3600.0
DAY_S = 86400.0


class ProvisioningDrift(RuntimeError):
    """The server holds a stream or consumer whose settings differ in a way we cannot update."""


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str
    max_age_s: float = 30 * DAY_S
    duplicate_window_s: float = DUPLICATE_WINDOW_S
    replicas: int = 1
    retention: RetentionPolicy = RetentionPolicy.LIMITS
    storage: StorageType = StorageType.FILE

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=self.retention,
            storage=self.storage,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
            discard=DiscardPolicy.OLD,
            allow_direct=True,
        )


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer. `max_deliver=-1`: JetStream never drops a message by itself."""

    stream: str
    durable: str
    filter_subjects: tuple[str, ...] = ()
    description: str = ""
    # Short, so a message held by a consumer that died comes back quickly; a slow handler
    # keeps its message with in_progress() heartbeats (IdempotentConsumer does).
    ack_wait_s: float = 10.0
    max_deliver: int = -1
    max_ack_pending: int = 1000
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def ack_wait(self) -> float:
        return self.ack_wait_s

    def config(self) -> ConsumerConfig:
        filters = list(self.filter_subjects)
        return ConsumerConfig(
            durable_name=self.durable,
            name=self.durable,
            description=self.description or None,
            deliver_policy=self.deliver_policy,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
            metadata=self.metadata or None,
        )


# --- the streams of the contract ---------------------------------------------------------


def contract_streams(replicas: int = 1) -> list[StreamSpec]:
    """The fixed streams of docs/design.md §4 (partner streams come from `agency_stream_spec`)."""
    return [
        StreamSpec(
            subjects.CASES_STREAM,
            (subjects.CASES_ALL,),
            "Case events written by intake, read by referral",
            replicas=replicas,
        ),
        StreamSpec(
            subjects.REPLIES_STREAM,
            (subjects.REPLIES_ALL,),
            "Partner replies about their referrals, read by referral",
            replicas=replicas,
        ),
        StreamSpec(
            subjects.REFERRAL_EVENTS_STREAM,
            (subjects.REFERRAL_EVENTS_ALL,),
            "Referral status events written by referral, read by intake and notify",
            replicas=replicas,
        ),
        StreamSpec(
            subjects.DLQ_STREAM,
            (subjects.DLQ_ALL,),
            "Messages a consumer gave up on, with the reason, for operators",
            max_age_s=90 * DAY_S,
            replicas=replicas,
        ),
    ]


def agency_stream_spec(slug: str, replicas: int = 1) -> StreamSpec:
    """A partner's own stream AGENCY_<SLUG> holding only its referrals."""
    return StreamSpec(
        subjects.agency_stream(slug),
        (subjects.agency_subjects(slug),),
        f"Referrals for partner {slug}",
        max_age_s=365 * DAY_S,
        replicas=replicas,
    )


def agency_consumer_spec(slug: str) -> ConsumerSpec:
    """The durable consumer a partner reads its stream through, named after its slug."""
    return ConsumerSpec(
        stream=subjects.agency_stream(slug),
        durable=subjects.check_slug(slug),
        description=f"Partner {slug} reads its referrals",
        ack_wait_s=60.0,
    )


# --- ensure -------------------------------------------------------------------------------

_STREAM_IMMUTABLE = ("storage", "retention")
_STREAM_MUTABLE = (
    "subjects",
    "description",
    "max_age",
    "duplicate_window",
    "num_replicas",
    "discard",
    "allow_direct",
)
_CONSUMER_IMMUTABLE = ("deliver_policy", "ack_policy")
_CONSUMER_MUTABLE = (
    "description",
    "ack_wait",
    "max_deliver",
    "max_ack_pending",
    "filter_subject",
    "filter_subjects",
    "metadata",
)


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, float):
        return round(value, 3)
    return value


def _diff(want: Any, have: Any, names: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    out = {}
    for name in names:
        w, h = _norm(getattr(want, name)), _norm(getattr(have, name))
        if w is None:
            continue
        if name == "metadata" and isinstance(h, dict):
            # the server adds its own keys (_nats.*); compare only ours
            h = {k: v for k, v in h.items() if not k.startswith("_nats")}
        if w != h:
            out[name] = (h, w)
    return out


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> Outcome:
    """Create or update `spec`'s stream; raise ProvisioningDrift on what cannot change."""
    want = spec.config()
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(want)
        log.info("stream created", extra={"stream": spec.name})
        return "created"
    have = info.config
    drift = _diff(want, have, _STREAM_IMMUTABLE)
    if drift:
        raise ProvisioningDrift(_drift_message(f"stream {spec.name}", drift))
    changes = _diff(want, have, _STREAM_MUTABLE)
    if not changes:
        return "unchanged"
    await js.update_stream(want)
    log.info("stream updated", extra={"stream": spec.name, "fields": sorted(changes)})
    return "updated"


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> Outcome:
    """Create or update a durable pull consumer; raise ProvisioningDrift on what cannot change."""
    want = spec.config()
    try:
        info = await js.consumer_info(spec.stream, spec.durable)
    except NotFoundError:
        await js.add_consumer(spec.stream, want)
        log.info("consumer created", extra={"stream": spec.stream, "consumer": spec.durable})
        return "created"
    have = info.config
    if have.deliver_subject:
        raise ProvisioningDrift(
            f"consumer {spec.stream}/{spec.durable} is a push consumer; a pull consumer is "
            "expected. Delete it (nats consumer rm) and start again."
        )
    drift = _diff(want, have, _CONSUMER_IMMUTABLE)
    if drift:
        raise ProvisioningDrift(_drift_message(f"consumer {spec.stream}/{spec.durable}", drift))
    changes = _diff(want, have, _CONSUMER_MUTABLE)
    if not changes:
        return "unchanged"
    await js.add_consumer(spec.stream, want)  # consumer create with the same name updates
    log.info(
        "consumer updated",
        extra={"stream": spec.stream, "consumer": spec.durable, "fields": sorted(changes)},
    )
    return "updated"


def _drift_message(what: str, drift: dict[str, tuple[Any, Any]]) -> str:
    fields = ", ".join(f"{k}: server has {h!r}, expected {w!r}" for k, (h, w) in drift.items())
    return (
        f"{what} differs from its specification in a field that cannot be updated ({fields}). "
        "Migrate it by hand (back up, delete, re-provision) or change the specification."
    )
