"""Intake's HTTP shapes. Structure is checked here; the rules of docs/design.md §2 live in rules.py."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from jejaring.shared.audit import AuditVerdictOut as AuditVerdictOut
from jejaring.shared.audit import RecordOut
from jejaring.shared.contract.enums import (
    AgeGroup,
    CaseOutcome,
    ConsentGiver,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    ProofOfInability,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.shared.contract.events import SHORT_TEXT_MAX as WIRE_TEXT_MAX
from jejaring.shared.web.fields import OneLine
from jejaring.shared.web.identity import PersonRole

T = TypeVar("T")


def _unique(values: list[T]) -> list[T]:
    """Drop repeats, keep the first order: asking twice for a service is asking once."""
    return list(dict.fromkeys(values))


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,20}$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    OneLine,
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
# A victim's text that travels in case.v1.* events: no longer than the wire model takes
# (`events.ShortText`), or the case would be refused by its own event (a 500).
WireText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=WIRE_TEXT_MAX)]
Channel = Literal["sms", "email"]
ReporterKind = Literal["victim", "family", "neighbour", "teacher", "officer", "other"]
OverrideReason = Literal["guardian_is_alleged_perpetrator", "child_in_danger"]
OverrideStatus = Literal["pending", "confirmed"]
Needs = Annotated[list[Service], Field(max_length=10), AfterValidator(_unique)]
Scope = Annotated[list[PartnerKind], Field(min_length=1, max_length=8), AfterValidator(_unique)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReporterIn(In):
    kind: ReporterKind
    name: Name | None = None
    phone: Phone | None = None


class VictimIn(In):
    name: Name
    sex: Sex
    birth_date: dt.date | None = None
    age: int | None = Field(default=None, ge=0, le=120, description="Stated age in years")
    phone: Phone | None = None
    safe_to_contact: bool = False
    preferred_channel: Channel | None = None
    address: WireText | None = None
    disability: WireText | None = None


class PerpetratorIn(In):
    relationship: PerpetratorRelationship
    sex: Sex | None = None
    is_child: bool = False


class ConsentIn(In):
    given_by: ConsentGiver
    scope: Scope
    override_reason: OverrideReason | None = None
    note: ShortText | None = None


class LegalAidProofIn(In):
    kind: ProofOfInability
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class CaseIn(In):
    """The body of POST /api/v1/cases."""

    kelurahan_code: Annotated[str, StringConstraints(max_length=20)]
    reported_at: dt.datetime = Field(description="ISO 8601; a time without offset is read as WITA")
    incident_date: dt.date | None = None
    place: Place
    violence_forms: Annotated[
        list[ViolenceForm], Field(min_length=1, max_length=7), AfterValidator(_unique)
    ]
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    risk_level: RiskLevel
    reporter: ReporterIn
    victims: Annotated[list[VictimIn], Field(min_length=1, max_length=20)]
    perpetrator: PerpetratorIn | None = None
    needs: Needs = Field(default_factory=list)
    consent: ConsentIn
    legal_aid_proof: LegalAidProofIn | None = None


class CasePatch(In):
    """The body of PATCH /api/v1/cases/{id}: add needs, change risk, consent or proof."""

    add_needs: Needs | None = None
    risk_level: RiskLevel | None = None
    consent: ConsentIn | None = None
    legal_aid_proof: LegalAidProofIn | None = None


class AssignIn(In):
    """The body of POST /api/v1/cases/{id}/assign: an officer of the case's kelurahan."""

    officer_id: uuid.UUID


class CloseIn(In):
    outcome: CaseOutcome
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ErasureReason(StrEnum):
    """Why a data protection officer erases a case's personal data: a code, never a text that
    could itself be personal."""

    SUBJECT_REQUEST = "subject_request"  # the person asked for it
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NO_LONGER_NEEDED = "no_longer_needed"
    UNLAWFUL = "unlawful"  # recorded without a lawful ground
    COURT_ORDER = "court_order"


class EraseIn(In):
    reason: ErasureReason = Field(description="Why the personal data is erased (a code)")


# --- responses -----------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class KelurahanOut(Out):
    code: str
    name: str


class VictimOut(Out):
    name: str | None = Field(default=None, description="None once the case was erased")
    sex: Sex
    birth_date: dt.date | None = None
    age: int | None = None
    age_group: AgeGroup
    is_child: bool
    phone: str | None = None
    safe_to_contact: bool
    preferred_channel: Channel | None = None
    address: str | None = None
    disability: str | None = None


class ConsentOut(Out):
    given_by: ConsentGiver
    scope: list[PartnerKind]
    override_reason: OverrideReason | None = None
    note: str | None = None
    recorded_at: dt.datetime
    recorded_by: uuid.UUID


class ReferralOut(Out):
    referral_id: uuid.UUID
    partner_slug: str
    service: Service
    status: str
    business_status: list[str]
    accept_by: dt.datetime | None
    updated_at: dt.datetime
    partner_kind: PartnerKind | None = Field(
        default=None, description="The partner's kind, when referral's events said it"
    )


class ReferralStepOut(BaseModel):
    """A step of a referral's history: an event intake received about it."""

    kind: Literal["status_changed", "overdue", "escalated"] = Field(
        description="A status change, or the referral marked overdue or escalated"
    )
    status: str
    business_status: list[str]
    by: str | None = Field(
        default=None, description="Who at the partner gave the answer (a person's name)"
    )
    at: dt.datetime


class CaseReferralOut(ReferralOut):
    steps: list[ReferralStepOut] = Field(
        default_factory=list,
        description="The referral's history as intake received it, oldest first; times in WITA",
    )


class UnmetNeedOut(Out):
    service: Service
    reason: str
    occurred_at: dt.datetime


class CaseRef(Out):
    """Another case, by its id and reference only (no name, no detail)."""

    case_id: uuid.UUID
    reference: str


class CaseOut(Out):
    """A case as its officers and the coordinator see it; times in WITA (UTC+8)."""

    id: uuid.UUID
    reference: str
    status: Literal["open", "closed"]
    kelurahan: KelurahanOut
    reported_at: dt.datetime
    incident_date: dt.date | None
    place: Place
    violence_forms: list[ViolenceForm]
    description: str | None
    risk_level: RiskLevel
    reporter: dict[str, Any]
    victims: list[VictimOut]
    perpetrator: PerpetratorIn | None
    needs: list[Service]
    consent: ConsentOut
    legal_aid_proof: LegalAidProofIn | None
    outcome: CaseOutcome | None
    outcome_note: str | None
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    sensitive: bool = Field(description="Sexual violence or a child victim")
    override_status: OverrideStatus | None = Field(
        default=None,
        description="A consent override: `pending` until the coordinator confirms it (no "
        "referral is made before), then `confirmed`",
    )
    override_confirmed_by: uuid.UUID | None = None
    override_confirmed_at: dt.datetime | None = None
    assigned_to: list[uuid.UUID] = Field(
        default_factory=list, description="Officers the coordinator assigned to the case"
    )
    referrals: list[CaseReferralOut]
    unmet_needs: list[UnmetNeedOut]
    erased_at: dt.datetime | None = Field(
        default=None,
        description="When the case's personal data was erased: its names, contacts, "
        "description and notes are gone for good; its plain facts stay",
    )
    erased_why: Literal["erasure", "retention"] | None = None
    erasure_reason: ErasureReason | None = Field(
        default=None, description="Why a data protection officer erased it (a code)"
    )
    possible_duplicates: list[CaseRef] = Field(
        default_factory=list,
        description="When a case is recorded: open cases whose victim has the same name and "
        "birth date (a warning; the case is recorded all the same)",
    )


class ErasedOut(Out):
    """A case whose personal data was erased (crypto-shredding)."""

    id: uuid.UUID
    reference: str
    erased_at: dt.datetime
    erased_why: Literal["erasure", "retention"]
    erasure_reason: ErasureReason | None


class CaseFound(Out):
    """A case found by its reference, for the data protection officer: which case it is and
    whether it was erased, no personal data."""

    id: uuid.UUID
    reference: str
    status: Literal["open", "closed"]
    kelurahan_code: str
    reported_at: dt.datetime
    erased_at: dt.datetime | None
    erased_why: Literal["erasure", "retention"] | None
    erasure_reason: ErasureReason | None


class OfficerOut(Out):
    """An officer the coordinator may assign to a case."""

    id: uuid.UUID
    name: str


class CaseSummary(Out):
    """A line of the case list: no victim's name or narrative."""

    id: uuid.UUID
    reference: str
    status: Literal["open", "closed"]
    kelurahan_code: str
    risk_level: RiskLevel
    reported_at: dt.datetime
    needs: list[Service]
    updated_at: dt.datetime
    sensitive: bool
    override_status: OverrideStatus | None = None
    restricted: bool = Field(
        default=False,
        description="Need to know: the caller sees this line only; opening the case answers 403",
    )
    erased_at: dt.datetime | None = Field(
        default=None, description="When the case's personal data was erased"
    )


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


class BoardCase(Out):
    """A case on the coordinator's board: no victim's name or narrative."""

    id: uuid.UUID
    reference: str
    kelurahan: KelurahanOut
    risk_level: RiskLevel
    reported_at: dt.datetime


class BoardReferral(Out):
    case: BoardCase
    referral: ReferralOut


class BoardUnmet(Out):
    case: BoardCase
    need: UnmetNeedOut


class BoardHighRisk(Out):
    case: BoardCase
    referrals: list[ReferralOut] = Field(description="Its referrals not yet accepted")


class BoardOut(BaseModel):
    """What needs the coordinator's action now, each section oldest first; times in WITA."""

    as_of: dt.datetime
    late: list[BoardReferral] = Field(
        description="Referrals not accepted in time: overdue, escalated, or past the deadline"
    )
    unmet: list[BoardUnmet] = Field(description="Needs no partner could take")
    eligibility_pending: list[BoardReferral] = Field(
        description="Legal aid waiting for proof of inability to pay"
    )
    high_risk_unaccepted: list[BoardHighRisk] = Field(
        description="High-risk cases with a referral not yet accepted"
    )


class UserIn(In):
    name: Name
    role: PersonRole
    kelurahan_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    phone: Phone | None = None
    email: Email | None = None
    login: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None,
        description="What the person signs in with: a phone number or a user name, unique "
        "whatever its case. Default: the phone number, if no one has it as their login yet.",
    )
    partner_slug: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None,
        description="The partner a partner_staff person acts for (required for that role, "
        "refused for the others). Intake does not check that the partner exists.",
    )


class UserOut(Out):
    id: uuid.UUID
    name: str
    role: PersonRole
    kelurahan_code: str | None
    phone: str | None
    email: str | None
    active: bool
    created_at: dt.datetime
    login: str | None = None
    partner_slug: str | None = None
    token_expires_at: dt.datetime | None = Field(
        default=None, description="When the user's API token stops working."
    )


class UserCreated(UserOut):
    token: str = Field(description="Shown once: only its hash is stored.")
    setup_code: str | None = Field(
        default=None,
        description="Shown once: the person sets their password with it "
        "(POST /api/v1/auth/setup) before `setup_expires_at`. None when the user has no login.",
    )
    setup_expires_at: dt.datetime | None = None


class TokenIssued(BaseModel):
    id: uuid.UUID
    token: str = Field(description="Shown once: only its hash is stored.")
    token_expires_at: dt.datetime


class SetupCodeIn(In):
    login: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Give the user this login (or a new one) as well."
    )


class SetupCodeOut(BaseModel):
    id: uuid.UUID
    login: str
    setup_code: str = Field(description="Shown once; only its hash is stored.")
    setup_expires_at: dt.datetime


# --- signing in: passwords are taken exactly as typed (no stripping) ------------------------


class AuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


Login = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=200)]
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=200)]
RefreshToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SetupIn(AuthIn):
    login: Login
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    password: NewPassword


class SignInIn(AuthIn):
    login: Login
    password: Password


class RefreshIn(AuthIn):
    refresh_token: RefreshToken


class PersonOut(BaseModel):
    id: uuid.UUID
    name: str
    role: PersonRole
    kelurahan_code: str | None
    partner_slug: str | None


class SignedIn(BaseModel):
    access_token: str = Field(
        description="Send as 'Authorization: Bearer <access_token>' to every service."
    )
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(
        description="Keep it server-side; POST /api/v1/auth/refresh gives a new pair (this "
        "one stops working)."
    )
    session_expires_at: dt.datetime = Field(
        description="When the session ends at the latest, however often it is refreshed."
    )
    person: PersonOut


class AuditRecordOut(RecordOut):
    """One record of the audit trail: who did what to which case or user, when, from where."""

    subject_id: uuid.UUID | None = Field(description="The user acted on (user actions).")
    client: str | None = Field(description="The client's address as intake saw it.")
    user_name: str | None = Field(default=None, description="The name of who acted.")
    subject_name: str | None = Field(default=None, description="The name of the user acted on.")


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    total: int
    page: int
    per_page: int
