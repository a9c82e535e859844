"""The wire contract: CloudEvents binary mode, every event type, and clear refusals."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from jejaring.shared.contract import envelope, subjects
from jejaring.shared.contract.enums import AgeGroup, ViolenceForm
from jejaring.shared.contract.events import BY_CE_TYPE, EVENT_TYPES, QuietHours, json_schemas
from jejaring.testing import CHILD_NAME, sample_events

CASE = sample_events()[0]


def test_there_is_a_sample_of_every_event_type() -> None:
    assert {type(e) for e in sample_events()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_its_message(event) -> None:
    message = envelope.encode(event, source="/jejaring/test")
    parsed = envelope.decode(message.headers, message.body)
    assert parsed.data == event
    assert parsed.type == event.ce_type
    assert message.headers["Nats-Msg-Id"] == message.headers["ce-id"] == parsed.id
    assert message.headers["ce-specversion"] == "1.0"
    assert message.headers["ce-datacontenttype"] == "application/json"
    assert message.headers["content-type"] == "application/json", "for first-release readers"
    assert message.subject == event.nats_subject()


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: type(e).__name__)
def test_headers_carry_ids_never_personal_data(event) -> None:
    message = envelope.encode(event, source="/jejaring/test")
    joined = " ".join(message.headers.values())
    # whole names and phone numbers: a random id may hold any four digits, never a phone's twelve
    for word in ("Putri", "Siti", "Wulan", "081234567890", "081300000001", "physical", "Fisik"):
        assert word not in joined


def test_a_message_without_cloudevents_headers_is_refused_naming_the_header() -> None:
    message = envelope.encode(sample_events()[0], source="/jejaring/test")
    with pytest.raises(envelope.MissingHeader, match="ce-type"):
        envelope.decode({k: v for k, v in message.headers.items() if k != "ce-type"}, message.body)
    with pytest.raises(envelope.MissingHeader, match="ce-specversion"):
        envelope.decode(None, message.body)


def test_an_event_of_a_type_this_version_does_not_know_is_reported_as_unknown() -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    headers = {**message.headers, "ce-type": "org.jejaring.case.reopened.v1"}
    with pytest.raises(envelope.UnknownEventType, match="org.jejaring.case.reopened.v1") as c:
        envelope.decode(headers, b'{"case_id": "x", "anything": [1, 2]}')
    assert (c.value.ce_type, c.value.id) == ("org.jejaring.case.reopened.v1", headers["ce-id"])


@pytest.mark.parametrize(
    ("change", "body", "reason"),
    [
        ({"ce-type": "com.example.case.reopened.v1"}, b"{}", "is not an org.jejaring"),
        ({"ce-type": "org.jejaring.reopened"}, b"{}", "is not an org.jejaring"),
        ({"ce-type": "org.jejaring.case.reopened.v1"}, b"{not json", "is not JSON"),
        ({"ce-type": "org.jejaring.case.reopened.v1", "ce-time": "noon"}, b"{}", "ce-time"),
        ({"ce-type": "org.jejaring.case.reopened.v1", "ce-specversion": "0.3"}, b"{}", "0.3"),
    ],
    ids=["foreign-type", "not-a-type-name", "data-not-json", "bad-time", "old-specversion"],
)
def test_an_unknown_type_that_is_not_a_well_formed_jejaring_event_is_refused(
    change: dict[str, str], body: bytes, reason: str
) -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    with pytest.raises(envelope.EnvelopeError, match=reason) as caught:
        envelope.decode({**message.headers, **change}, body)
    assert not isinstance(caught.value, envelope.UnknownEventType)


@pytest.mark.parametrize(
    "content_types",
    [
        {},  # an older producer that named no content type
        {"content-type": "application/json"},  # a producer of the first v1 release
        {"ce-datacontenttype": "application/json"},
        {"ce-datacontenttype": "Application/JSON; charset=utf-8"},
    ],
    ids=["none", "content-type-only", "datacontenttype-only", "with-parameter"],
)
def test_json_data_is_read_whichever_header_names_it(content_types: dict[str, str]) -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    headers = {
        k: v for k, v in message.headers.items() if k not in ("content-type", "ce-datacontenttype")
    }
    assert envelope.decode({**headers, **content_types}, message.body).data == CASE


@pytest.mark.parametrize(
    ("header", "media_type"),
    [
        ("ce-datacontenttype", "application/xml"),
        ("ce-datacontenttype", "text/plain"),
        ("content-type", "application/cloudevents+json"),  # structured mode: not ours
    ],
)
def test_data_in_another_media_type_is_refused_naming_it(header: str, media_type: str) -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    with pytest.raises(envelope.EnvelopeError, match=f"unsupported {header}") as caught:
        envelope.decode({**message.headers, header: media_type}, message.body)
    assert not isinstance(caught.value, envelope.UnknownEventType)


def _with_extra_fields(data: dict[str, Any], value: str) -> dict[str, Any]:
    """`data` as a newer v1 producer might send it: an unknown field at every level."""
    data = {**data, "reopened_by": value}
    data["victims"][0]["nickname"] = value
    data["officer"]["quiet_hours"] = {"start": "21:00", "end": "06:00", "weekends": value}
    return data


def test_fields_this_version_does_not_know_are_ignored_and_never_kept() -> None:
    unknown = "Wulan Sari (a value no v1 field holds)"
    message = envelope.encode(CASE, source="/jejaring/test")
    newer = _with_extra_fields(json.loads(message.body), unknown)
    parsed = envelope.decode(message.headers, json.dumps(newer).encode())
    assert parsed.data.model_dump(exclude={"officer"}) == CASE.model_dump(exclude={"officer"})
    assert parsed.data.officer.quiet_hours == QuietHours(start="21:00", end="06:00")
    assert unknown not in parsed.data.model_dump_json() + repr(parsed.data), "dropped"


def test_wire_models_stay_frozen() -> None:
    with pytest.raises(ValidationError):
        CASE.reference = "changed"  # type: ignore[misc]


def test_a_refusal_caused_next_to_unknown_fields_names_fields_never_values() -> None:
    message = envelope.encode(CASE, source="/jejaring/test")
    data = _with_extra_fields(json.loads(message.body), CHILD_NAME)
    data["victims"][0]["age_group"] = CHILD_NAME
    with pytest.raises(envelope.InvalidPayload) as caught:
        envelope.decode(message.headers, json.dumps(data).encode())
    assert "victims.0.age_group" in str(caught.value)
    assert "Putri" not in str(caught.value)


def test_invalid_data_names_the_field_and_never_echoes_values() -> None:
    event = sample_events()[0]
    message = envelope.encode(event, source="/jejaring/test")
    data = json.loads(message.body)
    data["violence_forms"] = []
    data["victims"][0]["age_group"] = "Putri Ayu is 9"
    with pytest.raises(envelope.InvalidPayload) as caught:
        envelope.decode(message.headers, json.dumps(data).encode())
    text = str(caught.value)
    assert "violence_forms" in text
    assert "victims.0.age_group" in text
    assert "Putri" not in text


def test_subjects_and_stream_names_follow_the_contract() -> None:
    assert subjects.agency_stream("babinsa-bpp-tengah") == "AGENCY_BABINSA_BPP_TENGAH"
    assert (
        subjects.to_agency("polresta-ppa", "requested") == "referral.v1.to.polresta-ppa.requested"
    )
    assert (
        subjects.from_agency("polresta-ppa", "accepted") == "referral.v1.from.polresta-ppa.accepted"
    )
    assert subjects.slug_of_reply("referral.v1.from.bikksa-mentari.rejected") == "bikksa-mentari"
    for bad in ("Polresta", "a_b", "-x", "x-", "", "a.b", "a>b"):
        with pytest.raises(subjects.InvalidSlug):
            subjects.agency_stream(bad)


def test_every_ce_type_follows_the_naming_rule() -> None:
    for ce_type in BY_CE_TYPE:
        assert subjects.CE_TYPE_RE.fullmatch(ce_type) and ce_type.endswith(".v1")


def test_vocabulary_has_labels_in_both_languages() -> None:
    assert ViolenceForm.TRAFFICKING.label() == "Perdagangan Orang"
    assert ViolenceForm.TRAFFICKING.label("en") == "Trafficking"
    assert [
        AgeGroup.of_age(a).value for a in (0, 5, 6, 12, 13, 17, 18, 24, 25, 44, 45, 59, 60, 99)
    ] == [
        "0-5",
        "0-5",
        "6-12",
        "6-12",
        "13-17",
        "13-17",
        "18-24",
        "18-24",
        "25-44",
        "25-44",
        "45-59",
        "45-59",
        "60+",
        "60+",
    ]
    assert AgeGroup.of_age(17).is_child and not AgeGroup.of_age(18).is_child


def test_json_schemas_cover_every_payload() -> None:
    schemas = json_schemas()
    assert set(schemas) == set(BY_CE_TYPE)
    assert "violence_forms" in schemas["org.jejaring.case.created.v1"]["properties"]


def test_published_schemas_let_the_contract_grow() -> None:
    schemas = json_schemas()
    for schema in schemas.values():
        for part in (schema, *schema.get("$defs", {}).values()):
            if part.get("type") == "object":
                assert part["additionalProperties"] is True, part["title"]
    message = envelope.encode(CASE, source="/jejaring/test")
    newer = _with_extra_fields(json.loads(message.body), "anything")
    jsonschema.Draft202012Validator(schemas[CASE.ce_type]).validate(newer)
