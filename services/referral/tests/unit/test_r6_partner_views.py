"""R6: what each kind of partner sees of a case (policy.partner_view), without a database."""

from __future__ import annotations

from typing import Any

import pytest

from jejaring.referral import policy
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import AgeGroup, PartnerKind, Sex
from jejaring.shared.region import Region, load_region
from jejaring.testing import CHILD_NAME, VICTIM_NAME, case_snapshot_fields

ALWAYS = {"kelurahan_code", "kelurahan_name", "risk_level"}  # routing needs them
VICTIM_ALWAYS = {"sex", "age_group", "is_child"}


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region()


@pytest.fixture(scope="module")
def case() -> ev.CaseSnapshot:
    """A case with every field filled: a child not safe to contact, and an adult who is (with
    every victim field given), so that any field a view shows is visible in it."""
    fields: dict[str, Any] = case_snapshot_fields()
    adult = ev.Victim(
        name=VICTIM_NAME,
        sex=Sex.FEMALE,
        age_group=AgeGroup.A25_44,
        is_child=False,
        phone="081200000000",
        safe_to_contact=True,
        preferred_channel="sms",
        address="Jl. Ahmad Yani 7",
        disability="tuna rungu",
    )
    fields["victims"] = (*fields["victims"], adult)
    return ev.CaseSnapshot(**fields)


def shown(model: Any) -> set[str]:
    return {name for name, value in model if value is not None}


@pytest.mark.parametrize("kind", list(PartnerKind))
def test_each_kind_sees_exactly_its_case_fields(
    kind: PartnerKind, case: ev.CaseSnapshot, region: Region
) -> None:
    view = policy.partner_view(case, kind, region)
    assert shown(view) == ALWAYS | policy.CASE_FIELDS[kind]
    assert view.kelurahan_name == "Karang Rejo"
    assert view.risk_level == case.risk_level


@pytest.mark.parametrize(
    "kind", [k for k in PartnerKind if "victims" in policy.CASE_FIELDS[k]], ids=str
)
def test_each_kind_sees_exactly_its_victim_fields(
    kind: PartnerKind, case: ev.CaseSnapshot, region: Region
) -> None:
    child, adult = policy.partner_view(case, kind, region).victims or ()
    assert shown(adult) == VICTIM_ALWAYS | policy.VICTIM_FIELDS[kind]
    not_given = {"preferred_channel", "disability"}  # for the child
    assert shown(child) == VICTIM_ALWAYS | policy.VICTIM_FIELDS[kind] - {"phone"} - not_given


@pytest.mark.parametrize("kind", list(PartnerKind))
def test_a_phone_not_safe_to_contact_is_withheld_from_every_kind(
    kind: PartnerKind, case: ev.CaseSnapshot, region: Region
) -> None:
    for victim in policy.partner_view(case, kind, region).victims or ():
        if victim.name == CHILD_NAME or victim.safe_to_contact is False:
            assert victim.phone is None


def test_what_the_design_says_each_kind_needs(case: ev.CaseSnapshot, region: Region) -> None:
    views = {kind: policy.partner_view(case, kind, region) for kind in PartnerKind}
    assert [k for k, v in views.items() if v.description is not None] == [PartnerKind.POLICE]
    assert [k for k, v in views.items() if v.place is not None] == [PartnerKind.POLICE]
    assert shown(views[PartnerKind.TNI]) == ALWAYS | {"officer"}, "the Babinsa: where, how urgent"
    assert views[PartnerKind.LEGAL_AID].legal_aid_proof == case.legal_aid_proof
    assert all(v.officer == case.officer for v in views.values()), "every kind may call back"
    addresses = {k for k, v in views.items() for victim in v.victims or () if victim.address}
    assert addresses == {PartnerKind.POLICE}
    for kind, view in views.items():
        if kind != PartnerKind.POLICE:
            assert "dipukul" not in view.model_dump_json(), kind


def test_an_unknown_kelurahan_has_no_name(case: ev.CaseSnapshot, region: Region) -> None:
    elsewhere = case.model_copy(update={"kelurahan_code": "99.99.99.9999"})
    view = policy.partner_view(elsewhere, PartnerKind.HEALTH, region)
    assert view.kelurahan_code == "99.99.99.9999" and view.kelurahan_name is None
