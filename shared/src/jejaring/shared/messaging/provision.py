"""Explicit provisioning of streams and durable pull consumers (docs/design.md §5).

`ensure_stream` and `ensure_consumer` create what is missing, update what JetStream allows to be
updated (limits included), and raise `ProvisioningDrift` naming the field when the server holds
something that cannot be changed in place (storage, a retention other than limits <-> interest,
ack policy, ...). Nothing is created implicitly by a publish or a subscribe.

Every stream of the contract has bounds (`STREAM_LIMITS`): no writer, a partner least of all,
can fill the store the others share, and a full REPLIES refuses replies instead of stopping
referrals. docs/decisions.md ("Stream limits") gives the numbers and the reasoning.
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
from jejaring.shared.contract.enums import ReferralStatus

log = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged"]

# Longer than the span over which an outbox row can be re-published (relay restarts, outages):
# a repeat inside the window is dropped by JetStream; consumers' inboxes catch anything later.
DUPLICATE_WINDOW_S = 2 * 3600.0
DAY_S = 86400.0
# How long an operator can replay a dead letter (`jejaring dlq`): the DLQ holds nothing older,
# bodies included. Two weeks cover a long holiday weekend before someone looks, and a fix
# released the week after. docs/decisions.md ("Retention").
DLQ_REPLAY_WINDOW_S = 14 * DAY_S
# A partner's stream holds a request only until the partner has it (interest retention: its
# acknowledgement removes it). This bounds how long one it has not fetched waits there: longer
# than the longest default acceptance deadline (72 h) and a long weekend, so a partner that
# fetches weekly never sees a re-publish; stream repair publishes an open request again when
# the stream no longer holds one the partner has not fetched. docs/decisions.md ("Retention").
AGENCY_MAX_AGE_S = 7 * DAY_S


class ProvisioningDrift(RuntimeError):
    """The server holds a stream or consumer whose settings differ in a way we cannot update."""


KiB = 1024
MiB = 1024 * KiB

# --- stream limits -------------------------------------------------------------------------
# Every bound is the traffic of the design day times SAFETY_FACTOR. The design day is the
# busiest day one kecamatan may have: 100 new cases (the real rate is nearer one a day), each
# with up to 7 case events (created, five updates, closed) and 3 referrals; a referral brings
# up to 3 messages on its partner's stream (requested, updated, cancelled), 4 partner answers
# and 8 referral events. docs/decisions.md ("Stream limits") has the table with the numbers.
DESIGN_DAY_CASES = 100
SAFETY_FACTOR = 10
# nats-server's max_payload (natsserver.py, deploy/nats): no message is larger, whatever a
# stream allows.
SERVER_MAX_PAYLOAD = 1 * MiB
# Every stream keeps room for this many of its largest messages, whatever their typical size.
LARGEST_KEPT = 64
# How many partners can flood REPLIES with messages of the largest size at once before it
# refuses everyone's replies (each is stopped at its own per-subject bound first).
REPLIES_FLOODERS = 4
# The subjects one partner can publish replies on: referral.v1.from.<slug>.<status>, one per
# status of the contract (REPLIES captures no other subject).
REPLY_SUBJECTS = tuple(subjects.replies_with(status.value) for status in ReferralStatus)


@dataclass(frozen=True)
class StreamLimits:
    """The bounds of one stream, derived from its traffic on the design day."""

    per_design_day: int  # messages on the design day
    typical_size: int  # bytes of a message with its headers: about twice the sample events'
    max_msg_size: int  # the largest message the contract allows, with room to spare
    discard: DiscardPolicy = DiscardPolicy.OLD
    per_subject: int = -1  # messages kept per subject; -1: no bound
    discard_new_per_subject: bool = False  # a subject at its bound refuses, others go on
    subjects_per_writer: int = 1  # how many subjects one writer can fill
    largest_kept: int = LARGEST_KEPT  # room for this many of its largest messages at least

    @property
    def max_msgs(self) -> int:
        return self.per_design_day * SAFETY_FACTOR

    @property
    def max_bytes(self) -> int:
        room = max(self.max_msgs * self.typical_size, self.largest_kept * self.max_msg_size)
        if self.discard_new_per_subject:
            # the whole share of REPLIES_FLOODERS writers, at the largest size, on top
            share = self.subjects_per_writer * self.per_subject * self.max_msg_size
            room += REPLIES_FLOODERS * share
        return -(-room // MiB) * MiB  # in whole MiB

    @property
    def writer_share_bytes(self) -> int:
        """The most one writer can hold, with every subject it may use at its bound."""
        if self.per_subject < 0:
            return self.max_bytes
        return self.subjects_per_writer * self.per_subject * self.max_msg_size


_CASE_EVENTS = DESIGN_DAY_CASES * 7
_REFERRALS = DESIGN_DAY_CASES * 3
_AGENCY = StreamLimits(
    # one partner receiving a referral of every case: 300 messages
    per_design_day=DESIGN_DAY_CASES * 3,
    typical_size=2 * KiB,
    max_msg_size=256 * KiB,  # a case view: a 4000-character description, up to 20 victims
    # A partner's stream holds a request only until the partner fetches it (a week at most)
    # and stream repair publishes again an open one it dropped: room for 16 of the largest, not
    # 64. JetStream reserves every stream's max bytes in the store: at 16 MiB a partner, the
    # 8 GB store refused the 490th partner (bench/results/partners.md); at 6 MiB it holds 1,300.
    largest_kept=16,
)
STREAM_LIMITS: dict[str, StreamLimits] = {
    subjects.CASES_STREAM: StreamLimits(
        per_design_day=_CASE_EVENTS, typical_size=2 * KiB, max_msg_size=256 * KiB
    ),
    # REPLIES holds only what referral has not handled yet (interest retention). It is the one
    # stream outsiders write: full, it refuses new replies (never drops one it acknowledged),
    # and one partner's subject at its bound refuses that partner's replies with that status
    # only. per_subject: a design day of one partner's answers with one status.
    subjects.REPLIES_STREAM: StreamLimits(
        per_design_day=_REFERRALS * 4,
        typical_size=1 * KiB,
        # the largest reply: 4400 characters of text, even as JSON \u escapes (12 bytes for
        # a character outside the BMP), is about 53 KiB
        max_msg_size=64 * KiB,
        discard=DiscardPolicy.NEW,
        per_subject=DESIGN_DAY_CASES,
        discard_new_per_subject=True,
        subjects_per_writer=len(REPLY_SUBJECTS),
    ),
    subjects.REFERRAL_EVENTS_STREAM: StreamLimits(
        per_design_day=_REFERRALS * 8, typical_size=2 * KiB, max_msg_size=256 * KiB
    ),
    # Ten design days dead-lettered (a bug in every message) still fit; per subject the last
    # 500, so a partner's junk replaces only its own dead letters: four partners at it hold
    # a third of the stream at most.
    subjects.DLQ_STREAM: StreamLimits(
        per_design_day=_CASE_EVENTS + _REFERRALS * (1 + 4 + 8),
        typical_size=2 * KiB,
        max_msg_size=512 * KiB,  # the largest message of any stream with the reason headers
        per_subject=500,
    ),
    subjects.AGENCY_STREAM_PREFIX + "<SLUG>": _AGENCY,
}


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
    limits: StreamLimits | None = None  # None: unbounded (tests and benchmarks only)

    def config(self) -> StreamConfig:
        lim = self.limits
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=self.retention,
            storage=self.storage,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
            discard=lim.discard if lim else DiscardPolicy.OLD,
            max_msgs=lim.max_msgs if lim else -1,
            max_bytes=lim.max_bytes if lim else -1,
            max_msg_size=lim.max_msg_size if lim else -1,
            max_msgs_per_subject=lim.per_subject if lim else -1,
            discard_new_per_subject=lim.discard_new_per_subject if lim else False,
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
            limits=STREAM_LIMITS[subjects.CASES_STREAM],
        ),
        StreamSpec(
            subjects.REPLIES_STREAM,
            REPLY_SUBJECTS,
            "Partner replies about their referrals, read by referral",
            replicas=replicas,
            # a reply is gone once referral has handled it: the stream holds the backlog
            retention=RetentionPolicy.INTEREST,
            limits=STREAM_LIMITS[subjects.REPLIES_STREAM],
        ),
        StreamSpec(
            subjects.REFERRAL_EVENTS_STREAM,
            (subjects.REFERRAL_EVENTS_ALL,),
            "Referral status events written by referral, read by intake and notify",
            replicas=replicas,
            limits=STREAM_LIMITS[subjects.REFERRAL_EVENTS_STREAM],
        ),
        StreamSpec(
            subjects.DLQ_STREAM,
            (subjects.DLQ_ALL,),
            "Messages a consumer gave up on, with the reason, for operators",
            max_age_s=DLQ_REPLAY_WINDOW_S,
            replicas=replicas,
            limits=STREAM_LIMITS[subjects.DLQ_STREAM],
        ),
    ]


def agency_stream_spec(slug: str, replicas: int = 1) -> StreamSpec:
    """A partner's own stream AGENCY_<SLUG> holding its referral messages until the partner
    has acknowledged them (interest retention; its durable consumer is the interest)."""
    return StreamSpec(
        subjects.agency_stream(slug),
        (subjects.agency_subjects(slug),),
        f"Referrals for partner {slug}",
        max_age_s=AGENCY_MAX_AGE_S,
        retention=RetentionPolicy.INTEREST,
        replicas=replicas,
        limits=_AGENCY,
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
    "max_msgs",
    "max_bytes",
    "max_msg_size",
    "max_msgs_per_subject",
    "discard_new_per_subject",
    "retention",  # only between limits and interest (`_RETENTION_UPDATABLE`)
)
# nats-server changes a stream's retention in place between these two (not to or from
# work-queue); going to interest it drops at once the messages every consumer has acked.
_RETENTION_UPDATABLE = {RetentionPolicy.LIMITS, RetentionPolicy.INTEREST}
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
        if isinstance(w, bool) and h is None:
            h = False  # the server leaves out a flag that is off
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
    if "retention" in drift and {want.retention, have.retention} <= _RETENTION_UPDATABLE:
        del drift["retention"]
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
