"""Intake's rules at the door, on plain facts: no HTTP, no database, no clock but the one given."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jejaring.intake import rules
from jejaring.intake.rules import Age, Consent, Victim
from jejaring.shared.contract.enums import (
    AgeGroup,
    ConsentGiver,
    RiskLevel,
    Service,
    ViolenceForm,
)
from jejaring.shared.refusals import FieldError
from jejaring.shared.region import load_region

REGION = load_region()
WITA = dt.timezone(dt.timedelta(hours=8))
KARANG_REJO = "64.71.04.1003"
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA)
GUARDIAN = Consent(ConsentGiver.GUARDIAN)
BY_VICTIM = Consent(ConsentGiver.VICTIM)
CHILD = Victim(birth_date=dt.date(2014, 5, 1))
ADULT = Victim(birth_date=dt.date(1990, 1, 1))


def check(**changes: Any) -> rules.CaseCheck:
    """check_case on a sound case (a child, physical violence, a guardian's consent), changed."""
    facts: dict[str, Any] = {
        "kelurahan_code": KARANG_REJO,
        "reported_at": dt.datetime(2026, 11, 20, 9, 0, tzinfo=WITA),
        "incident_date": dt.date(2026, 11, 19),
        "victims": [CHILD],
        "violence_forms": [ViolenceForm.PHYSICAL],
        "needs": [Service.PROTECTION, Service.COUNSELLING],
        "perpetrator_is_child": False,
        "consent": GUARDIAN,
        "region": REGION,
        "now": NOW,
    }
    facts.update(changes)
    facts["reported_at"] = rules.as_utc(facts["reported_at"], REGION)
    return rules.check_case(**facts)


def codes(check: rules.CaseCheck) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in check.errors]


def test_a_sound_case_passes_with_each_victims_age() -> None:
    result = check(victims=[CHILD, ADULT, Victim(age=15)])
    assert result.errors == []
    assert result.ages == [
        Age(12, AgeGroup.A6_12),
        Age(36, AgeGroup.A25_44),
        Age(15, AgeGroup.A13_17),
    ]
    assert [a.is_child for a in result.ages] == [True, False, True]


# --- R1: no mediation for sexual violence ----------------------------------------------------


def r1(
    forms: list[ViolenceForm], needs: list[Service], *, child_perpetrator: bool = False
) -> list[FieldError]:
    return rules.check_no_mediation_for_sexual_violence(
        violence_forms=forms, needs=needs, perpetrator_is_child=child_perpetrator
    )


def test_r1_refuses_mediation_for_sexual_violence() -> None:
    [error] = r1([ViolenceForm.SEXUAL, ViolenceForm.PHYSICAL], [Service.MEDIATION])
    assert (error.field, error.code) == ("needs", "r1_no_mediation_sexual_violence")
    assert "UU 12/2022 TPKS Pasal 23" in error.message
    assert "Mediation is not allowed" in error.message_en


def test_r1_allows_mediation_when_the_perpetrator_is_a_child() -> None:
    assert r1([ViolenceForm.SEXUAL], [Service.MEDIATION], child_perpetrator=True) == []


def test_r1_allows_counselling_and_mediation_for_other_violence() -> None:
    assert r1([ViolenceForm.SEXUAL], [Service.COUNSELLING, Service.LEGAL_AID]) == []
    assert r1([ViolenceForm.PHYSICAL], [Service.MEDIATION]) == []


def test_r1_names_the_field_the_needs_came_from() -> None:
    [error] = rules.check_no_mediation_for_sexual_violence(
        violence_forms=[ViolenceForm.SEXUAL],
        needs=[Service.MEDIATION],
        perpetrator_is_child=False,
        field="add_needs",
    )
    assert error.field == "add_needs"


# --- R5: a child's data needs a guardian's consent -------------------------------------------


@pytest.mark.parametrize(
    ("consent", "any_child", "expected"),
    [
        (BY_VICTIM, True, [("consent.given_by", "r5_child_needs_guardian_consent")]),
        (GUARDIAN, True, []),
        (Consent(ConsentGiver.OVERRIDE, "guardian_is_alleged_perpetrator"), True, []),
        (Consent(ConsentGiver.OVERRIDE, "child_in_danger"), True, []),
        (
            Consent(ConsentGiver.OVERRIDE),
            True,
            [("consent.override_reason", "r5_override_reason_missing")],
        ),
        (
            Consent(ConsentGiver.OVERRIDE),
            False,
            [("consent.override_reason", "r5_override_reason_missing")],
        ),
        (
            Consent(ConsentGiver.OVERRIDE, "child_in_danger"),
            False,
            [("consent.given_by", "r5_override_only_for_child")],
        ),
        (BY_VICTIM, False, []),
    ],
)
def test_r5_child_consent(
    consent: Consent, any_child: bool, expected: list[tuple[str, str]]
) -> None:
    errors = rules.check_child_consent(consent=consent, any_child=any_child)
    assert [(e.field, e.code) for e in errors] == expected


def test_r5_cites_the_law() -> None:
    [error] = rules.check_child_consent(consent=BY_VICTIM, any_child=True)
    assert "UU 27/2022 PDP Pasal 25" in error.message
    assert "Law 27/2022" in error.message_en


def test_r5_applies_when_any_victim_is_a_child() -> None:
    assert codes(check(victims=[ADULT], consent=BY_VICTIM)) == []
    assert codes(check(victims=[ADULT, CHILD], consent=BY_VICTIM)) == [
        ("consent.given_by", "r5_child_needs_guardian_consent")
    ]


# --- dates -----------------------------------------------------------------------------------


def test_a_report_may_be_ahead_of_the_server_by_the_clock_skew_only() -> None:
    assert codes(check(reported_at=NOW + dt.timedelta(minutes=4))) == []
    assert codes(check(reported_at=NOW + dt.timedelta(minutes=6))) == [
        ("reported_at", "date_in_future")
    ]


def test_the_incident_is_not_after_the_report() -> None:
    assert codes(check(incident_date=dt.date(2026, 11, 20))) == []
    assert codes(check(incident_date=None)) == []
    assert codes(check(incident_date=dt.date(2026, 11, 21))) == [
        ("incident_date", "incident_after_report")
    ]


@pytest.mark.parametrize(
    ("victim", "code"),
    [
        (Victim(), "age_missing"),
        (Victim(birth_date=dt.date(2026, 11, 21)), "birth_after_report"),
        (Victim(birth_date=dt.date(1850, 1, 1)), "impossible_age"),
        (Victim(age=121), "impossible_age"),
    ],
)
def test_a_victims_age_must_be_known_and_possible(victim: Victim, code: str) -> None:
    result = check(victims=[ADULT, victim])
    assert codes(result) == [("victims.1.birth_date", code)]
    assert result.ages == [], "no ages for a refused case"


def test_ages_at_the_edges() -> None:
    born_today = check(victims=[Victim(birth_date=dt.date(2026, 11, 20)), Victim(age=120)])
    assert [a.years for a in born_today.ages] == [0, 120]
    assert rules.age_at(Victim(birth_date=dt.date(1906, 11, 20)), dt.date(2026, 11, 20)) == Age(
        120, AgeGroup.A60_PLUS
    )
    assert rules.age_at(Victim(birth_date=dt.date(1905, 11, 20)), dt.date(2026, 11, 20)) is None


@pytest.mark.parametrize(
    ("on", "years", "is_child"),
    [
        (dt.date(2026, 12, 31), 17, True),
        (dt.date(2027, 1, 1), 18, False),
        (dt.date(2027, 12, 31), 18, False),
    ],
)
def test_an_age_turns_on_the_birthday(on: dt.date, years: int, is_child: bool) -> None:
    age = rules.age_at(Victim(birth_date=dt.date(2009, 1, 1)), on)
    assert age is not None
    assert (age.years, age.is_child) == (years, is_child)


def test_a_birthday_on_29_february_comes_on_1_march_in_other_years() -> None:
    leapling = Victim(birth_date=dt.date(2008, 2, 29))
    assert rules.age_at(leapling, dt.date(2026, 2, 28)) == Age(17, AgeGroup.A13_17)
    assert rules.age_at(leapling, dt.date(2026, 3, 1)) == Age(18, AgeGroup.A18_24)


def test_a_stated_age_is_taken_as_given() -> None:
    assert rules.age_at(Victim(age=17), dt.date(2026, 1, 1)) == Age(17, AgeGroup.A13_17)
    assert rules.age_at(Victim(), dt.date(2026, 1, 1)) is None


def test_the_day_of_a_report_is_the_wita_day_not_the_utc_one() -> None:
    """00:10 WITA on 1 January is 16:10 UTC on 31 December: the report is of 1 January, so an
    incident or a birth that day is not after it, and someone born on 1 January 2009 is 18."""
    just_after_midnight = dt.datetime(2027, 1, 1, 0, 10, tzinfo=WITA)
    assert rules.as_utc(just_after_midnight, REGION).date() == dt.date(2026, 12, 31)
    result = check(
        reported_at=just_after_midnight,
        incident_date=dt.date(2027, 1, 1),
        victims=[Victim(birth_date=dt.date(2009, 1, 1)), Victim(birth_date=dt.date(2027, 1, 1))],
        now=dt.datetime(2027, 1, 1, 0, 30, tzinfo=WITA),
    )
    assert result.errors == []
    assert [(a.years, a.is_child) for a in result.ages] == [(18, False), (0, True)]
    day_before = check(
        reported_at=dt.datetime(2026, 12, 31, 23, 50, tzinfo=WITA),
        victims=[Victim(birth_date=dt.date(2009, 1, 1))],
        now=dt.datetime(2027, 1, 1, 0, 30, tzinfo=WITA),
    )
    assert [(a.years, a.is_child) for a in day_before.ages] == [(17, True)]


def test_a_time_without_offset_is_read_as_wita() -> None:
    naive = dt.datetime(2027, 1, 1, 0, 10)
    assert rules.as_utc(naive, REGION) == dt.datetime(2026, 12, 31, 16, 10, tzinfo=dt.UTC)


# --- kelurahan -------------------------------------------------------------------------------


def test_a_kelurahan_of_the_region_is_known() -> None:
    for code in REGION.codes:
        assert rules.check_kelurahan(code, REGION) == []


@pytest.mark.parametrize("code", ["64.71.01.1001", "", "64.71.04.1003 "])
def test_an_unknown_kelurahan_is_refused_with_the_choices(code: str) -> None:
    [error] = rules.check_kelurahan(code, REGION)
    assert (error.field, error.code) == ("kelurahan_code", "unknown_kelurahan")
    assert "64.71.04.1003 Karang Rejo" in error.message
    assert "Choose from: 64.71.04.1001 Gunung Sari Ulu" in error.message_en


# --- one pass --------------------------------------------------------------------------------


def test_one_pass_names_every_broken_rule_in_the_order_of_the_form() -> None:
    result = check(
        kelurahan_code="64.71.01.1001",
        reported_at=dt.datetime(2099, 1, 1, 0, 0, tzinfo=WITA),
        incident_date=dt.date(2099, 2, 1),
        victims=[Victim(), Victim(birth_date=dt.date(2100, 1, 1)), ADULT, Victim(age=500)],
    )
    assert codes(result) == [
        ("kelurahan_code", "unknown_kelurahan"),
        ("reported_at", "date_in_future"),
        ("incident_date", "incident_after_report"),
        ("victims.0.birth_date", "age_missing"),
        ("victims.1.birth_date", "birth_after_report"),
        ("victims.3.birth_date", "impossible_age"),
    ]


def test_r1_and_r5_are_named_together() -> None:
    result = check(
        violence_forms=[ViolenceForm.SEXUAL], needs=[Service.MEDIATION], consent=BY_VICTIM
    )
    assert codes(result) == [
        ("needs", "r1_no_mediation_sexual_violence"),
        ("consent.given_by", "r5_child_needs_guardian_consent"),
    ]
    assert [a.years for a in result.ages] == [12]


def test_r1_and_r5_wait_for_sound_dates() -> None:
    """Whether a child is involved is known once every age is: until then only the kelurahan,
    the dates and the ages are named (as intake has always answered)."""
    result = check(
        incident_date=dt.date(2026, 11, 21),
        violence_forms=[ViolenceForm.SEXUAL],
        needs=[Service.MEDIATION],
        consent=BY_VICTIM,
    )
    assert codes(result) == [("incident_date", "incident_after_report")]


def test_check_protections_is_r1_then_r5() -> None:
    errors = rules.check_protections(
        violence_forms=[ViolenceForm.SEXUAL],
        needs=[Service.COUNSELLING, Service.MEDIATION],
        perpetrator_is_child=False,
        consent=Consent(ConsentGiver.OVERRIDE),
        any_child=True,
        needs_field="add_needs",
    )
    assert [(e.field, e.code) for e in errors] == [
        ("add_needs", "r1_no_mediation_sexual_violence"),
        ("consent.override_reason", "r5_override_reason_missing"),
    ]


def test_each_victims_age_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Victim] = []
    age_at = rules.age_at

    def counting(victim: Victim, on: dt.date) -> Age | None:
        seen.append(victim)
        return age_at(victim, on)

    monkeypatch.setattr(rules, "age_at", counting)
    victims = [CHILD, ADULT, Victim(age=40)]
    assert check(victims=victims, consent=BY_VICTIM).errors
    assert seen == victims


@pytest.mark.parametrize(
    ("forms", "any_child", "sensitive"),
    [
        ([ViolenceForm.SEXUAL], False, True),
        ([ViolenceForm.PHYSICAL, ViolenceForm.SEXUAL], False, True),
        ([ViolenceForm.PHYSICAL], True, True),
        ([ViolenceForm.PHYSICAL, ViolenceForm.PSYCHOLOGICAL], False, False),
    ],
)
def test_sexual_violence_or_a_child_victim_is_sensitive(
    forms: list[ViolenceForm], any_child: bool, sensitive: bool
) -> None:
    assert rules.is_sensitive(violence_forms=forms, any_child=any_child) is sensitive


@pytest.mark.parametrize(
    ("forms", "perpetrator_is_child", "risk", "codes"),
    [
        ([ViolenceForm.SEXUAL], False, RiskLevel.MEDIUM, ["r1_no_mediation_sexual_violence"]),
        ([ViolenceForm.SEXUAL], True, RiskLevel.MEDIUM, []),
        ([ViolenceForm.PHYSICAL], False, RiskLevel.HIGH, ["no_mediation_high_risk"]),
        (
            [ViolenceForm.PHYSICAL, ViolenceForm.SEXUAL],
            False,
            RiskLevel.HIGH,
            ["r1_no_mediation_sexual_violence", "no_mediation_high_risk"],
        ),
        ([ViolenceForm.PHYSICAL], False, RiskLevel.MEDIUM, []),
        ([ViolenceForm.PSYCHOLOGICAL], False, RiskLevel.LOW, []),
    ],
)
def test_a_mediation_session_needs_r1_and_a_risk_that_is_not_high(
    forms: list[ViolenceForm], perpetrator_is_child: bool, risk: RiskLevel, codes: list[str]
) -> None:
    errors = rules.check_mediation_session(
        violence_forms=forms, perpetrator_is_child=perpetrator_is_child, risk_level=risk
    )
    assert [e.code for e in errors] == codes
    assert all(e.field == "kind" for e in errors)
