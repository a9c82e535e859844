"""The stream limits table (provision.STREAM_LIMITS): every stream is bounded, the largest
message the contract allows still fits, one partner cannot fill REPLIES or the DLQ, and the
servers' JetStream store holds every stream at its limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jejaring.shared.contract import envelope, subjects
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.messaging import provision
from jejaring.shared.messaging.natsserver import server_config
from jejaring.shared.messaging.provision import (
    SAFETY_FACTOR,
    SERVER_MAX_PAYLOAD,
    STREAM_LIMITS,
    DiscardPolicy,
    KiB,
    MiB,
    RetentionPolicy,
    agency_stream_spec,
    contract_streams,
)
from jejaring.testing import case_snapshot_fields, sample_events

REPO = Path(__file__).resolve().parents[3]
WIDE = "\U0001f600"  # four bytes in UTF-8, twelve as a JSON \u escape pair
# the seed has four and a kecamatan perhaps a dozen; a city's thousand (bench/partners.py)
PARTNERS_THE_STORE_HOLDS = 1000


def wide(n: int) -> str:
    return WIDE * n


def size(event: ev.Event, *, ascii_json: bool = False) -> int:
    """What JetStream counts against max_msg_size: subject, headers and body."""
    m = envelope.encode(event, source="/partners/" + "x" * 40)
    body = json.dumps(json.loads(m.body)).encode() if ascii_json else m.body
    headers = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in m.headers.items()) + "\r\n"
    return len(m.subject) + len(headers.encode()) + len(body)


def largest_reply() -> ev.PartnerReplied:
    reply = next(e for e in sample_events() if isinstance(e, ev.PartnerReplied))
    return reply.model_copy(
        update={
            "partner_slug": "p" * 40,
            "status": ReferralStatus.IN_PROGRESS,
            "reason": wide(200),
            "note": wide(4000),
            "by": wide(200),
        }
    )


def largest_case() -> ev.CaseCreated:
    """Every text at its length bound in four-byte characters; 20 victims (intake's bound)."""
    fields = case_snapshot_fields()
    victim = fields["victims"][0].model_copy(  # type: ignore[index]
        update={"name": wide(200), "address": wide(200), "disability": wide(200)}
    )
    officer = ev.Contact(name=wide(200), phone=wide(200), email=wide(200))
    return ev.CaseCreated(
        **{
            **fields,
            "reference": wide(200),
            "description": wide(4000),
            "victims": (victim,) * 20,
            "officer": officer,
        }
    )


def largest_request() -> ev.ReferralRequested:
    case = largest_case()
    request = next(e for e in sample_events() if isinstance(e, ev.ReferralRequested))
    view = request.case.model_copy(
        update={
            "description": case.description,
            "victims": tuple(
                ev.PartnerVictimView(**v.model_dump(exclude={"birth_date"})) for v in case.victims
            ),
            "officer": case.officer,
        }
    )
    return request.model_copy(update={"case": view, "case_reference": wide(200)})


def test_every_stream_of_the_contract_is_bounded() -> None:
    specs = [*contract_streams(), agency_stream_spec("polresta-ppa")]
    assert {s.name for s in specs} | {"AGENCY_<SLUG>"} >= set(STREAM_LIMITS)
    for spec in specs:
        limits = spec.limits
        assert limits is not None, spec.name
        config = spec.config()
        assert config.max_msgs == limits.per_design_day * SAFETY_FACTOR > 0
        # room for 64 of its largest messages; a partner's stream, read within the week, for 16
        # (a thousand partners fit the store)
        kept = 16 if spec.name.startswith("AGENCY_") else 64
        assert config.max_bytes is not None and config.max_bytes >= kept * limits.max_msg_size
        assert config.max_msg_size is not None and 0 < config.max_msg_size <= SERVER_MAX_PAYLOAD


def test_the_largest_message_the_contract_allows_fits_its_stream() -> None:
    replies = STREAM_LIMITS[subjects.REPLIES_STREAM].max_msg_size
    assert size(largest_reply()) < size(largest_reply(), ascii_json=True) < replies
    assert size(largest_case()) < STREAM_LIMITS[subjects.CASES_STREAM].max_msg_size
    assert size(largest_request()) < STREAM_LIMITS["AGENCY_<SLUG>"].max_msg_size
    # a dead letter is the original with its reason headers (the reason is cut to 500)
    biggest = max(lim.max_msg_size for n, lim in STREAM_LIMITS.items() if n != "DLQ")
    assert biggest + 4 * KiB <= STREAM_LIMITS[subjects.DLQ_STREAM].max_msg_size


def test_a_full_replies_refuses_and_one_partner_cannot_fill_it() -> None:
    replies = STREAM_LIMITS[subjects.REPLIES_STREAM]
    assert replies.discard == DiscardPolicy.NEW
    assert replies.discard_new_per_subject and replies.per_subject > 0
    # the subjects one partner can use: one per status, nothing else
    assert len(provision.REPLY_SUBJECTS) == replies.subjects_per_writer == len(ReferralStatus)
    assert all(
        re.fullmatch(r"referral\.v1\.from\.\*\.[a-z-]+", s) for s in provision.REPLY_SUBJECTS
    )
    # several partners at their bound, with messages of the largest size, leave room
    share = replies.writer_share_bytes
    assert provision.REPLIES_FLOODERS * share < replies.max_bytes
    assert provision.REPLIES_FLOODERS * replies.subjects_per_writer * replies.per_subject < (
        replies.max_msgs
    )
    # the streams referrals travel on refuse nothing: a full one drops its oldest
    for name in (subjects.CASES_STREAM, subjects.REFERRAL_EVENTS_STREAM, "AGENCY_<SLUG>"):
        assert STREAM_LIMITS[name].discard == DiscardPolicy.OLD


def test_one_partners_junk_cannot_push_the_others_out_of_the_dlq() -> None:
    dlq = STREAM_LIMITS[subjects.DLQ_STREAM]
    assert dlq.discard == DiscardPolicy.OLD and dlq.per_subject > 0
    partner_subjects = STREAM_LIMITS[subjects.REPLIES_STREAM].subjects_per_writer
    junk = provision.REPLIES_FLOODERS * partner_subjects * dlq.per_subject
    assert junk < dlq.max_msgs / 2
    assert junk * 2 * KiB < dlq.max_bytes / 2  # dead letters of replies keep no body


def store_needed(partners: int) -> int:
    contract = sum(s.limits.max_bytes for s in contract_streams() if s.limits)
    return contract + partners * STREAM_LIMITS["AGENCY_<SLUG>"].max_bytes


def max_file_store(config: str) -> int:
    (value,) = re.findall(r"max_file_store:\s*(\d+)\s*([KMG]B)", config)
    return int(value[0]) * {"KB": KiB, "MB": MiB, "GB": 1024 * MiB}[value[1]]


@pytest.mark.parametrize(
    "config",
    [
        "embedded",
        "deploy/nats/nats.conf",
        *(f"deploy/nats/cluster/nats-{n}.conf" for n in (1, 2, 3)),
    ],
)
def test_the_store_holds_every_stream_at_its_limit(config: str, tmp_path: Path) -> None:
    """JetStream reserves each stream's max_bytes when it makes the stream: the store never
    fills, and a stream that would not fit is refused when it is made."""
    text = (
        server_config(host="127.0.0.1", port=1, monitor_port=2, store_dir=tmp_path)
        if config == "embedded"
        else (REPO / config).read_text()
    )
    assert store_needed(PARTNERS_THE_STORE_HOLDS) < max_file_store(text)
    assert re.search(r"^max_payload:\s*1MB$", text, re.M)  # SERVER_MAX_PAYLOAD


def test_a_partner_stream_holds_a_request_only_until_the_partner_has_it() -> None:
    """Interest retention (the partner's acknowledgement removes a request) and a week at most
    for one it has not fetched (stream repair publishes an open one again), not a year."""
    config = agency_stream_spec("polresta-ppa").config()
    assert config.retention == RetentionPolicy.INTEREST
    assert config.max_age == provision.AGENCY_MAX_AGE_S == 7 * provision.DAY_S
    # longer than the longest default acceptance deadline (72 h): no re-publish churn for a
    # partner that fetches within its deadlines
    assert config.max_age > 72 * 3600


def test_the_dlq_holds_nothing_past_the_replay_window() -> None:
    (dlq,) = [s for s in contract_streams() if s.name == subjects.DLQ_STREAM]
    assert dlq.config().max_age == provision.DLQ_REPLAY_WINDOW_S == 14 * provision.DAY_S
    assert dlq.retention == RetentionPolicy.LIMITS  # no consumer: only age removes them
