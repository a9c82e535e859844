"""The record-a-case form: the body it posts is exactly intake's, and intake's errors land
beside the right input on the right step."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from jejaring.testing import EXAMPLE_CASE
from jejaring.web.case_form import (
    CONSENT,
    INCIDENT,
    LEGAL_AID,
    NEEDS,
    PERPETRATOR,
    VICTIMS,
    Answers,
    input_for,
    missing,
    step_of,
)
from jejaring.web.forms import Form

WITA = ZoneInfo("Asia/Makassar")

# services/intake/tests/integration/test_api.py's CASE, as the form holds it
TYPED = [
    ("reported_at", "2026-11-20T09:00"),
    ("incident_date", "2026-11-19"),
    ("place", "household"),
    ("violence_forms", "physical"),
    ("violence_forms", "psychological"),
    ("description", "Korban dipukul di rumah."),
    ("risk_level", "high"),
    ("reporter_kind", "neighbour"),
    ("victim_count", "1"),
    ("victims-0-name", "Putri Ayu Lestari"),
    ("victims-0-sex", "female"),
    ("victims-0-birth_date", "2014-05-01"),
    ("victims-0-phone", "081234567890"),
    ("perpetrator-relationship", "parent"),
    ("perpetrator-sex", "male"),
    ("perpetrator-is_child", "no"),
    ("needs", "protection"),
    ("needs", "legal_aid"),
    ("needs", "counselling"),
    ("consent-given_by", "guardian"),
    ("consent-scope", "police"),
    ("consent-scope", "tni"),
    ("consent-scope", "legal_aid"),
    ("consent-scope", "counselling"),
    ("proof-kind", "pkh"),
    ("proof-number", "PKH-3374-01"),
]

CASE = EXAMPLE_CASE


def test_the_typed_example_case_becomes_intakes_example_body() -> None:
    answers = Answers.from_form(Form(TYPED))
    assert answers.to_body(kelurahan_code="64.71.04.1003", zone=WITA) == CASE
    assert all(missing(answers, step) == [] for step in answers.steps())


def test_hidden_fields_carry_every_answer_to_the_next_step_unchanged() -> None:
    answers = Answers.from_form(Form(TYPED))
    for step in (INCIDENT, VICTIMS, PERPETRATOR, NEEDS, CONSENT, LEGAL_AID):
        shown = [(k, v) for k, v in TYPED if step_of(k) == step]
        carried = Answers.from_form(Form([*answers.hidden_for(step), *shown]))
        assert carried == answers, step


def test_the_legal_aid_step_only_when_legal_aid_is_needed() -> None:
    without = Answers.from_form(Form([(k, v) for k, v in TYPED if v != "legal_aid"]))
    assert LEGAL_AID not in without.steps()
    assert "legal_aid_proof" not in without.to_body(kelurahan_code="x", zone=WITA)
    no_proof = Answers.from_form(Form([*TYPED[:-2], ("proof-kind", "none")]))
    assert "legal_aid_proof" not in no_proof.to_body(kelurahan_code="x", zone=WITA)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("needs", "needs"),
        ("add_needs", "needs"),
        ("consent.given_by", "consent-given_by"),
        ("consent.override_reason", "consent-override_reason"),
        ("consent.scope.0", "consent-scope"),
        ("victims.2.birth_date", "victims-2-birth_date"),
        ("victims.0.preferred_channel", "victims-0-name"),
        ("reported_at", "reported_at"),
        ("reporter.kind", "reporter_kind"),
        ("legal_aid_proof.number", "proof-number"),
        ("perpetrator.relationship", "perpetrator-relationship"),
        ("kelurahan_code", None),
        ("Idempotency-Key", None),
    ],
)
def test_intakes_errors_land_beside_their_inputs(field: str, expected: str | None) -> None:
    assert input_for(field) == expected


def test_what_the_form_itself_asks_for() -> None:
    empty = Answers()
    assert [i for i, _ in missing(empty, INCIDENT)] == [
        "reported_at",
        "place",
        "violence_forms",
        "risk_level",
        "reporter_kind",
    ]
    assert [i for i, _ in missing(empty, VICTIMS)] == [
        "victims-0-name",
        "victims-0-sex",
        "victims-0-birth_date",
    ]
