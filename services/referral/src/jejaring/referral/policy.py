"""The rules referral owns, each written down once (docs/design.md §2 and §4).

- R2: legal aid needs proof of inability to pay; without it the referral is made but marked
  eligibility-pending.
- R3: a high-risk case alerts police protection and the Babinsa at once, as urgent referrals.
- R4: acceptance deadlines per risk level (per partner; defaults 1 h / 6 h / 72 h).
- R6: each partner kind receives only the fields its service needs.
- The FHIR Task state machine of a referral.

R1 and R5 are intake's: a case that breaks them is refused at the door and never reaches here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from jejaring.referral.errors import IllegalTransition, ReasonRequired
from jejaring.referral.schemas import Deadlines
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import (
    BusinessStatus,
    PartnerKind,
    Priority,
    ReferralStatus,
    RiskLevel,
    Service,
)
from jejaring.shared.region import Region

# --- R3 -------------------------------------------------------------------------------------

HIGH_RISK_SERVICES: tuple[Service, ...] = (Service.PROTECTION, Service.SECURITY_ESCORT)


def services_needed(case: ev.CaseSnapshot) -> list[Service]:
    """The case's needs, plus police protection and the Babinsa when the risk is high (R3)."""
    return needed_for(case.needs, case.risk_level)


def needed_for(needs: Iterable[Service], risk_level: RiskLevel) -> list[Service]:
    """`services_needed` from the two fields it reads (the reconciler has no snapshot object)."""
    needed = list(needs)
    if risk_level == RiskLevel.HIGH:
        needed += [s for s in HIGH_RISK_SERVICES if s not in needed]
    return needed


def priority_of(case: ev.CaseSnapshot) -> Priority:
    return Priority.URGENT if case.risk_level == RiskLevel.HIGH else Priority.ROUTINE


# --- R2 -------------------------------------------------------------------------------------


def business_status_at_request(case: ev.CaseSnapshot, service: Service) -> list[BusinessStatus]:
    """eligibility-pending for legal aid without proof of inability to pay (SKTM, PKH, …)."""
    if service == Service.LEGAL_AID and case.legal_aid_proof is None:
        return [BusinessStatus.ELIGIBILITY_PENDING]
    return []


# --- R4 -------------------------------------------------------------------------------------


def acceptance_deadline(deadlines: Mapping[str, Any], risk: RiskLevel) -> dt.timedelta:
    """How long a partner with these `deadlines` (hours per risk level, defaults for those not
    given) has to accept a referral of `risk`."""
    return Deadlines.model_validate(deadlines).for_risk(risk)


# --- R6 -------------------------------------------------------------------------------------

# The fields of PartnerCaseView (and of its victims) each kind of partner receives. Everything
# not listed is withheld. kelurahan_code and risk_level always travel: routing needs them.
CASE_FIELDS: dict[PartnerKind, frozenset[str]] = {
    PartnerKind.POLICE: frozenset(
        {
            "reported_at",
            "incident_date",
            "place",
            "violence_forms",
            "description",
            "victims",
            "perpetrator",
            "officer",
        }
    ),
    PartnerKind.TNI: frozenset({"officer"}),
    PartnerKind.LEGAL_AID: frozenset(
        {
            "reported_at",
            "incident_date",
            "violence_forms",
            "victims",
            "perpetrator",
            "legal_aid_proof",
            "officer",
        }
    ),
    PartnerKind.COUNSELLING: frozenset({"violence_forms", "victims", "officer"}),
    PartnerKind.HEALTH: frozenset({"incident_date", "violence_forms", "victims", "officer"}),
    PartnerKind.SHELTER: frozenset({"victims", "officer"}),
    PartnerKind.SOCIAL_SERVICE: frozenset({"violence_forms", "victims", "officer"}),
    PartnerKind.GOVERNMENT: frozenset({"violence_forms", "victims", "officer"}),
}

VICTIM_FIELDS: dict[PartnerKind, frozenset[str]] = {
    PartnerKind.POLICE: frozenset(
        {"name", "phone", "safe_to_contact", "preferred_channel", "address", "disability"}
    ),
    PartnerKind.TNI: frozenset(),
    PartnerKind.LEGAL_AID: frozenset({"name", "phone", "safe_to_contact", "preferred_channel"}),
    PartnerKind.COUNSELLING: frozenset(
        {"name", "phone", "safe_to_contact", "preferred_channel", "disability"}
    ),
    PartnerKind.HEALTH: frozenset({"name", "disability"}),
    PartnerKind.SHELTER: frozenset({"name", "disability", "phone", "safe_to_contact"}),
    PartnerKind.SOCIAL_SERVICE: frozenset({"disability"}),
    PartnerKind.GOVERNMENT: frozenset({"disability"}),
}


class PolicyIncomplete(RuntimeError):
    """A rule table lacks an entry the code needs (found at start, not at the first case)."""


def check_r6(
    case_fields: Mapping[PartnerKind, frozenset[str]] | None = None,
    victim_fields: Mapping[PartnerKind, frozenset[str]] | None = None,
) -> None:
    """Every PartnerKind has its R6 fields (by default in CASE_FIELDS and VICTIM_FIELDS):
    without them, every case referred to a partner of that kind would fail at routing."""
    tables = {
        "CASE_FIELDS": CASE_FIELDS if case_fields is None else case_fields,
        "VICTIM_FIELDS": VICTIM_FIELDS if victim_fields is None else victim_fields,
    }
    gaps = [
        f"{name} has no entry for partner kind '{kind.value}'"
        for name, table in tables.items()
        for kind in PartnerKind
        if kind not in table
    ]
    if gaps:
        raise PolicyIncomplete(
            "R6 (jejaring.referral.policy) is incomplete: "
            + "; ".join(gaps)
            + ". Every partner kind needs the fields it may see, even if none."
        )


def partner_view(case: ev.CaseSnapshot, kind: PartnerKind, region: Region) -> ev.PartnerCaseView:
    """The part of `case` a partner of `kind` may see (R6)."""
    fields = CASE_FIELDS[kind]
    victim_fields = VICTIM_FIELDS[kind]
    kelurahan = region.kelurahan_by_code(case.kelurahan_code)
    view: dict[str, object] = {
        "kelurahan_code": case.kelurahan_code,
        "kelurahan_name": kelurahan.name if kelurahan else None,
        "risk_level": case.risk_level,
    }
    for name in fields - {"victims"}:
        view[name] = getattr(case, name)
    if "victims" in fields:
        victims = []
        for v in case.victims:
            shown = {k: getattr(v, k) for k in victim_fields}
            if not v.safe_to_contact:  # a shared phone must not ring about the case
                shown.pop("phone", None)
            victims.append(
                ev.PartnerVictimView(sex=v.sex, age_group=v.age_group, is_child=v.is_child, **shown)
            )
        view["victims"] = tuple(victims)
    return ev.PartnerCaseView.model_validate(view)


# --- the FHIR Task state machine ------------------------------------------------------------

S = ReferralStatus
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.REQUESTED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
}
FINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
REASON_REQUIRED = frozenset({S.REJECTED, S.FAILED, S.CANCELLED})
# A partner answers; only the requester (Jejaring, when the case closes or consent is
# withdrawn) withdraws a referral.
PARTNER_MAY_SET = frozenset(TRANSITIONS) - {S.REQUESTED, S.CANCELLED}


def allowed_next(current: ReferralStatus, *, by_partner: bool) -> list[ReferralStatus]:
    nexts = TRANSITIONS[current]
    if by_partner:
        nexts = nexts & PARTNER_MAY_SET
    return sorted(nexts, key=lambda s: list(ReferralStatus).index(s))


def partner_moves(current: ReferralStatus, answer: ReferralStatus, *, reason: str | None) -> bool:
    """Whether a partner's `answer` moves a referral from `current`: False for the same status
    again (changes nothing); IllegalTransition for a move the state machine does not allow to a
    partner, ReasonRequired for rejected, failed or cancelled without a reason."""
    if answer == current:
        return False
    allowed = allowed_next(current, by_partner=True)
    if answer not in allowed:
        raise IllegalTransition(current, answer, allowed)
    if answer in REASON_REQUIRED and not reason:
        raise ReasonRequired(answer)
    return True
