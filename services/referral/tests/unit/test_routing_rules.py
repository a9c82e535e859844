"""The routing decisions that are pure functions: R2, R3, R4 and who may take a need."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jejaring.referral import policy
from jejaring.referral.models import Partner
from jejaring.referral.routing import candidates
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import BusinessStatus, PartnerKind, Priority, RiskLevel, Service
from jejaring.testing import T0, case_snapshot_fields

H = dt.timedelta(hours=1)


def case(**changes: Any) -> ev.CaseSnapshot:
    return ev.CaseSnapshot(**{**case_snapshot_fields(), **changes})


# --- R2 ---------------------------------------------------------------------------------------


def test_r2_legal_aid_without_proof_is_eligibility_pending() -> None:
    no_proof = case(legal_aid_proof=None)
    assert policy.business_status_at_request(no_proof, Service.LEGAL_AID) == [
        BusinessStatus.ELIGIBILITY_PENDING
    ]
    assert policy.business_status_at_request(case(), Service.LEGAL_AID) == [], "proof given"


@pytest.mark.parametrize("service", [s for s in Service if s != Service.LEGAL_AID])
def test_r2_other_services_need_no_proof(service: Service) -> None:
    assert policy.business_status_at_request(case(legal_aid_proof=None), service) == []


# --- R3 ---------------------------------------------------------------------------------------


COUNSELLING, LEGAL_AID, SHELTER = Service.COUNSELLING, Service.LEGAL_AID, Service.SHELTER
POLICE, BABINSA = Service.PROTECTION, Service.SECURITY_ESCORT


@pytest.mark.parametrize(
    ("needs", "needed"),
    [
        ((COUNSELLING, LEGAL_AID), [COUNSELLING, LEGAL_AID, POLICE, BABINSA]),
        ((BABINSA, SHELTER), [BABINSA, SHELTER, POLICE]),  # a need asked for is not added twice
    ],
)
def test_r3_high_risk_adds_police_protection_and_the_babinsa_after_the_needs(
    needs: tuple[Service, ...], needed: list[Service]
) -> None:
    high = case(risk_level=RiskLevel.HIGH, needs=needs)
    assert policy.services_needed(high) == needed
    assert policy.priority_of(high) == Priority.URGENT


@pytest.mark.parametrize("risk", [RiskLevel.MEDIUM, RiskLevel.LOW])
def test_r3_lower_risk_is_routine_with_the_needs_as_asked(risk: RiskLevel) -> None:
    c = case(risk_level=risk, needs=(Service.LEGAL_AID,))
    assert policy.services_needed(c) == [Service.LEGAL_AID]
    assert policy.priority_of(c) == Priority.ROUTINE


@pytest.mark.parametrize("risk", list(RiskLevel))
def test_r3_the_reconciler_reads_the_same_rule_from_two_fields(risk: RiskLevel) -> None:
    c = case(risk_level=risk, needs=(Service.SHELTER, Service.PROTECTION))
    assert policy.needed_for(c.needs, c.risk_level) == policy.services_needed(c)


# --- R4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "hours"), [(RiskLevel.HIGH, 1), (RiskLevel.MEDIUM, 6), (RiskLevel.LOW, 72)]
)
def test_r4_default_deadlines_per_risk(risk: RiskLevel, hours: int) -> None:
    assert policy.acceptance_deadline({}, risk) == hours * H


def test_r4_a_partner_sets_its_own_deadlines_the_rest_stay_default() -> None:
    deadlines = {"high": 0.5, "low": 24}
    assert policy.acceptance_deadline(deadlines, RiskLevel.HIGH) == 30 * dt.timedelta(minutes=1)
    assert policy.acceptance_deadline(deadlines, RiskLevel.MEDIUM) == 6 * H
    assert policy.acceptance_deadline(deadlines, RiskLevel.LOW) == 24 * H


# --- who may take a need ----------------------------------------------------------------------


def partner(slug: str, kind: PartnerKind, services: list[Service], **more: Any) -> Partner:
    return Partner(
        slug=slug,
        name=slug,
        kind=kind.value,
        services=[s.value for s in services],
        kelurahan=more.get("kelurahan", []),
        contacts=[],
        deadlines={},
        active=True,
        created_at=T0,
    )


def test_partners_offering_the_service_where_the_case_is_and_those_consent_covers() -> None:
    here = case_snapshot_fields()["kelurahan_code"]
    partners = [
        partner("police", PartnerKind.POLICE, [Service.PROTECTION]),
        partner("shelter", PartnerKind.SHELTER, [Service.PROTECTION, Service.SHELTER]),
        partner("elsewhere", PartnerKind.POLICE, [Service.PROTECTION], kelurahan=["64.71.01.1001"]),
        partner("local", PartnerKind.POLICE, [Service.PROTECTION], kelurahan=[here]),
        partner("lawyers", PartnerKind.LEGAL_AID, [Service.LEGAL_AID]),
    ]
    c = case()  # consent: police, tni, legal aid, counselling
    offering, allowed = candidates(partners, case=c, service=Service.PROTECTION)
    assert [p.slug for p in offering] == ["police", "shelter", "local"], "in order, kelurahan"
    assert [p.slug for p in allowed] == ["police", "local"], "no consent for a shelter"
    assert candidates(partners, case=c, service=Service.HEALTH) == ([], [])
