"""What `jejaring dlq` prints of a dead letter: ids and types, never what an outsider wrote."""

from __future__ import annotations

import datetime as dt

import pytest

from jejaring.cli.dlq import DeadLetter, DlqError, _matches, replay
from jejaring.shared.messaging import consumer as c

AT = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
JUNK_TYPE = "Siti Aminah dipukul suaminya"


def partner_junk() -> DeadLetter:
    """What referral's REPLIES consumer keeps of a partner's message that is not an event."""
    return DeadLetter(
        seq=7,
        subject="dlq.v1.referral.referral.v1.from.polresta-ppa.accepted",
        time=AT,
        headers={
            "ce-specversion": "1.0",
            "ce-id": "korban Siti Aminah",
            "ce-type": JUNK_TYPE,
            c.DLQ_BODY_DROPPED: "5120",
            c.DLQ_REASON: f"ce-type {JUNK_TYPE!r} is not an org.jejaring.<thing>.<event>.v<n>",
            c.DLQ_SERVICE: "referral",
            c.DLQ_CONSUMER: "referral-replies",
            c.DLQ_SUBJECT: "referral.v1.from.polresta-ppa.accepted",
            c.DLQ_DELIVERIES: "1",
        },
        body=b"",
    )


def test_an_outsiders_text_is_withheld_from_the_list_and_the_details() -> None:
    letter = partner_junk()
    printed = "\n".join([letter.line(), *letter.details()])
    assert "Siti" not in printed and "dipukul" not in printed
    assert "(withheld: 28 characters)" in letter.line()
    assert "ce-type '…' is not an org.jejaring" in letter.line()
    assert "body=dropped" in letter.line() and "referral/referral-replies" in letter.line()


async def test_a_dead_letter_without_its_body_cannot_be_replayed_and_says_why() -> None:
    letter = partner_junk()
    assert not letter.replayable
    with pytest.raises(DlqError, match="body was not kept .* ask the partner to send it again"):
        await replay(None, letter)  # type: ignore[arg-type] - refused before any NATS call


def test_a_jejaring_type_in_a_reason_is_kept() -> None:
    letter = DeadLetter(
        seq=1,
        subject="dlq.v1.intake.referral.v1.event.accepted",
        time=AT,
        headers={
            c.DLQ_REASON: "refused by handler: unexpected event type "
            "'org.jejaring.case.created.v1' on referral events"
        },
        body=b"{}",
    )
    assert "'org.jejaring.case.created.v1'" in letter.line()


@pytest.mark.parametrize(
    ("subject", "wildcard", "matches"),
    [
        ("case.v1.created", "case.v1.>", True),
        ("case.v1", "case.v1.>", False),
        ("referral.v1.event.accepted", "referral.v1.event.>", True),
        ("referral.v1.from.x.accepted", "referral.v1.event.>", False),
        ("referral.v1.from.x.accepted", "referral.v1.from.*.accepted", True),
        ("referral.v1.from.x.y.accepted", "referral.v1.from.*.accepted", False),
    ],
)
def test_subject_matching_follows_nats(subject: str, wildcard: str, matches: bool) -> None:
    assert _matches(subject, wildcard) is matches
