"""Version 1 payloads of every event on the wire (docs/design.md §4).

Events are past-tense, frozen pydantic models. Each knows its CloudEvents type and the NATS
subject it travels on. Partners build on these shapes: add optional fields, never change or
remove one; anything else is a v2.

Readers are tolerant so that the contract can grow without every consumer redeployed at once: a
field this version does not know (added by a newer v1 producer) is ignored, not refused, and
the published JSON Schemas say so (`additionalProperties: true`). These models are for the wire
only; HTTP input keeps its own strict schemas in each service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from jejaring.shared.contract import subjects
from jejaring.shared.contract.enums import (
    AgeGroup,
    AnswerReason,
    BusinessStatus,
    CaseOutcome,
    ConsentGiver,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    Priority,
    ProofOfInability,
    ReferralStatus,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)

KelurahanCode = Annotated[str, StringConstraints(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")]
Slug = Annotated[str, StringConstraints(pattern=subjects.SLUG_RE.pattern)]
SHORT_TEXT_MAX = 200  # an API field that ends up in a ShortText takes no more than this
ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Channel = Literal["sms", "email"]


class Model(BaseModel):
    """Base of every wire model: immutable, and tolerant of fields it does not know (a newer
    v1 producer may add optional ones): they are dropped on reading, never kept or echoed."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_extra={"additionalProperties": True}
    )


class Event(Model):
    """Base of every event payload."""

    ce_type: ClassVar[str]

    def nats_subject(self) -> str:
        """The subject this event is published on."""
        raise NotImplementedError

    def ce_subject(self) -> str:
        """The CloudEvents subject header: an id, never personal data."""
        raise NotImplementedError

    def correlation_id(self) -> str | None:
        """The case id this event belongs to, for tracing across services."""
        return None


# --- parts of a case -------------------------------------------------------------------


class QuietHours(Model):
    """Local (WITA) hours in which only urgent alerts are sent, e.g. 21:00-06:00."""

    start: HourMinute
    end: HourMinute


class Contact(Model):
    """A person to reach: an officer, a partner's contact or the coordinator."""

    name: ShortText
    phone: ShortText | None = None
    email: ShortText | None = None
    preferred_channel: Channel | None = None
    quiet_hours: QuietHours | None = None


class Victim(Model):
    """A victim. On CASES the identifying fields (name, birth date, phone, address,
    disability) travel sealed in `CaseSnapshot.sealed` and are None here (`personal.py`)."""

    name: ShortText | None = None
    sex: Sex
    age_group: AgeGroup
    is_child: bool
    birth_date: dt.date | None = None
    phone: ShortText | None = None
    safe_to_contact: bool = False
    preferred_channel: Channel | None = None
    address: ShortText | None = None
    disability: ShortText | None = None


class Perpetrator(Model):
    relationship: PerpetratorRelationship
    sex: Sex | None = None
    is_child: bool = False


class Consent(Model):
    given_by: ConsentGiver
    scope: tuple[PartnerKind, ...]
    override_reason: ShortText | None = None
    recorded_at: AwareDatetime
    recorded_by: ShortText


class LegalAidProof(Model):
    kind: ProofOfInability
    number: ShortText | None = None


class CaseSnapshot(Model):
    """Everything referral needs to route a case, as of `version`."""

    case_id: uuid.UUID
    reference: ShortText
    version: int = Field(ge=1)
    kelurahan_code: KelurahanCode
    reported_at: AwareDatetime
    incident_date: dt.date | None = None
    place: Place
    violence_forms: tuple[ViolenceForm, ...] = Field(min_length=1)
    description: LongText | None = None
    risk_level: RiskLevel
    victims: tuple[Victim, ...] = Field(min_length=1)
    perpetrator: Perpetrator | None = None
    needs: tuple[Service, ...]
    consent: Consent
    legal_aid_proof: LegalAidProof | None = None
    officer: Contact
    # The personal fields (contract/personal.py `CasePersonal`), sealed with the case's data
    # key; None on an event from before sealing, whose personal fields are in the clear.
    sealed: str | None = None

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


# --- CASES stream (intake -> referral) ---------------------------------------------------


class CaseCreated(CaseSnapshot, Event):
    ce_type: ClassVar[str] = "org.jejaring.case.created.v1"

    def nats_subject(self) -> str:
        return subjects.CASE_CREATED


class CaseUpdated(CaseSnapshot, Event):
    ce_type: ClassVar[str] = "org.jejaring.case.updated.v1"
    changed: tuple[ShortText, ...] = ()

    def nats_subject(self) -> str:
        return subjects.CASE_UPDATED


class CaseClosed(Event):
    ce_type: ClassVar[str] = "org.jejaring.case.closed.v1"
    case_id: uuid.UUID
    reference: ShortText
    version: int = Field(ge=1)
    outcome: CaseOutcome
    closed_at: AwareDatetime
    note: LongText | None = None

    def nats_subject(self) -> str:
        return subjects.CASE_CLOSED

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


class CaseErased(Event):
    """The case's data key was deleted: its personal fields are unreadable everywhere, and
    every service drops what it still holds of them (`why`: a data protection officer's
    erasure, or the retention period's anonymisation)."""

    ce_type: ClassVar[str] = "org.jejaring.case.erased.v1"
    case_id: uuid.UUID
    reference: ShortText
    erased_at: AwareDatetime
    why: Literal["erasure", "retention"]

    def nats_subject(self) -> str:
        return subjects.CASE_ERASED

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


class CaseMerged(Event):
    """A case recorded twice for the same victim: `case_id` (the later record) was merged into
    `into_case_id` by the coordinator. Its referrals and their answers now belong to the kept
    case; nothing is cancelled."""

    ce_type: ClassVar[str] = "org.jejaring.case.merged.v1"
    case_id: uuid.UUID
    reference: ShortText
    into_case_id: uuid.UUID
    into_reference: ShortText
    merged_at: AwareDatetime

    def nats_subject(self) -> str:
        return subjects.CASE_MERGED

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.into_case_id)


# --- case work (intake -> notify, on CASES; referral ignores them) -----------------------


class CaseTaskDue(Event):
    """A task of a case plan falls due tomorrow: remind the officer responsible. No task text,
    no case details: the reminder says only that a task of a reference is due."""

    ce_type: ClassVar[str] = "org.jejaring.case.task_due.v1"
    case_id: uuid.UUID
    reference: ShortText
    kelurahan_code: KelurahanCode
    task_id: uuid.UUID
    due_on: dt.date
    officer: Contact

    def nats_subject(self) -> str:
        return subjects.CASE_TASK_DUE

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


class CaseFeedbackRequested(Event):
    """A closed case whose victim is safe to contact: ask her, once, by SMS, how the help was
    (a one-word reply 1-5). Her phone travels sealed with the case's data key; the partners
    whose help she is asked about are the ones that accepted a referral of the case."""

    ce_type: ClassVar[str] = "org.jejaring.case.feedback_requested.v1"
    # `phone_sealed`'s associated data: crypto.aad(case_id, PHONE_PURPOSE) (not a field)
    PHONE_PURPOSE: ClassVar[str] = "case.feedback"
    case_id: uuid.UUID
    reference: ShortText
    kelurahan_code: KelurahanCode
    closed_at: AwareDatetime
    phone_sealed: str
    partner_slugs: tuple[Slug, ...] = ()

    def nats_subject(self) -> str:
        return subjects.CASE_FEEDBACK_REQUESTED

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


# Case events referral does not act on (case work is intake's and notify's).
CASE_WORK_EVENTS: tuple[type[Event], ...] = (CaseTaskDue, CaseFeedbackRequested)


# --- AGENCY_<SLUG> streams (referral -> one partner) -------------------------------------


class PartnerVictimView(Model):
    """What a partner may see of a victim: each field present only where its service needs it."""

    sex: Sex
    age_group: AgeGroup
    is_child: bool
    name: ShortText | None = None
    phone: ShortText | None = None
    safe_to_contact: bool | None = None
    preferred_channel: Channel | None = None
    address: ShortText | None = None
    disability: ShortText | None = None


class PartnerCaseView(Model):
    """The part of a case one partner receives (R6): withheld fields are absent."""

    kelurahan_code: KelurahanCode
    kelurahan_name: ShortText | None = None
    risk_level: RiskLevel
    reported_at: AwareDatetime | None = None
    incident_date: dt.date | None = None
    place: Place | None = None
    violence_forms: tuple[ViolenceForm, ...] | None = None
    description: LongText | None = None
    victims: tuple[PartnerVictimView, ...] | None = None
    perpetrator: Perpetrator | None = None
    legal_aid_proof: LegalAidProof | None = None
    officer: Contact | None = None


class _AgencyEvent(Event):
    referral_id: uuid.UUID
    partner_slug: Slug
    case_reference: ShortText

    _agency_event: ClassVar[str]

    def nats_subject(self) -> str:
        return subjects.to_agency(self.partner_slug, self._agency_event)

    def ce_subject(self) -> str:
        return str(self.referral_id)


class ReferralRequested(_AgencyEvent):
    ce_type: ClassVar[str] = "org.jejaring.referral.requested.v1"
    _agency_event: ClassVar[str] = "requested"
    service: Service
    priority: Priority
    accept_by: AwareDatetime
    business_status: tuple[BusinessStatus, ...] = ()
    requested_at: AwareDatetime
    case: PartnerCaseView


class ReferralCancelled(_AgencyEvent):
    ce_type: ClassVar[str] = "org.jejaring.referral.cancelled.v1"
    _agency_event: ClassVar[str] = "cancelled"
    reason: ShortText
    cancelled_at: AwareDatetime


class ReferralUpdated(_AgencyEvent):
    ce_type: ClassVar[str] = "org.jejaring.referral.updated.v1"
    _agency_event: ClassVar[str] = "updated"
    priority: Priority
    accept_by: AwareDatetime | None = None
    business_status: tuple[BusinessStatus, ...] = ()
    updated_at: AwareDatetime
    case: PartnerCaseView
    changed: tuple[ShortText, ...] = ()


# --- REPLIES stream (partner -> referral) -----------------------------------------------


class PartnerReplied(Event):
    """A partner's answer about one referral; the subject names the partner and the status."""

    ce_type: ClassVar[str] = "org.jejaring.referral.reply.v1"
    referral_id: uuid.UUID
    partner_slug: Slug
    status: ReferralStatus
    reason: ShortText | None = None
    reason_code: AnswerReason | None = Field(
        default=None, description="The reason as a code the reports count (v1, optional)."
    )
    note: LongText | None = None
    replied_at: AwareDatetime
    by: ShortText | None = None

    def nats_subject(self) -> str:
        return subjects.from_agency(self.partner_slug, self.status.value)

    def ce_subject(self) -> str:
        return str(self.referral_id)


# --- REFERRAL_EVENTS stream (referral -> intake, notify) --------------------------------


class _ReferralFact(Event):
    referral_id: uuid.UUID
    case_id: uuid.UUID
    case_reference: ShortText
    partner_slug: Slug
    service: Service
    kelurahan_code: KelurahanCode
    risk_level: RiskLevel
    priority: Priority
    status: ReferralStatus
    business_status: tuple[BusinessStatus, ...] = ()
    accept_by: AwareDatetime | None = None
    sequence: int = Field(ge=1, description="Grows with every change of this referral.")
    occurred_at: AwareDatetime
    # Who is involved, so that notify can decide whom to alert (no victim data here).
    partner_name: ShortText | None = None
    partner_kind: PartnerKind | None = Field(
        default=None,
        description="The partner's kind: whether the case's consent covers it (v1, optional).",
    )
    partner_contacts: tuple[Contact, ...] = ()
    officer: Contact | None = None

    def ce_subject(self) -> str:
        return str(self.referral_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


class ReferralStatusChanged(_ReferralFact):
    """A referral was created (requested) or moved to another FHIR status."""

    ce_type: ClassVar[str] = "org.jejaring.referral.status_changed.v1"
    previous_status: ReferralStatus | None = None
    reason: ShortText | None = None
    reason_code: AnswerReason | None = Field(
        default=None, description="The reason as a code the reports count (v1, optional)."
    )
    note: LongText | None = None
    by: ShortText | None = Field(
        default=None,
        description="Who at the partner gave the answer (a person's name), when it says.",
    )

    def nats_subject(self) -> str:
        return subjects.referral_event(self.status.value)


class ReferralOverdue(_ReferralFact):
    """A referral was not accepted by its deadline."""

    ce_type: ClassVar[str] = "org.jejaring.referral.overdue.v1"

    def nats_subject(self) -> str:
        return subjects.referral_event("overdue")


class ReferralEscalated(_ReferralFact):
    """An overdue referral went to the coordinator, and where possible to another partner."""

    ce_type: ClassVar[str] = "org.jejaring.referral.escalated.v1"
    offered_to: tuple[Slug, ...] = ()

    def nats_subject(self) -> str:
        return subjects.referral_event("escalated")


class ReferralNeedUnmet(Event):
    """A need of a case that no active partner offers in its kelurahan (or consent excludes)."""

    ce_type: ClassVar[str] = "org.jejaring.referral.need_unmet.v1"
    case_id: uuid.UUID
    case_reference: ShortText
    kelurahan_code: KelurahanCode
    service: Service
    reason: ShortText
    occurred_at: AwareDatetime

    def nats_subject(self) -> str:
        return subjects.referral_event("unmet")

    def ce_subject(self) -> str:
        return str(self.case_id)

    def correlation_id(self) -> str:
        return str(self.case_id)


class PartnerDeactivated(Event):
    """A partner no longer takes referrals: its HTTP token and its staff stop working at
    referral at once, and every service that gives its staff anything stops too (intake's
    documents, R6). Its open referrals stay as they are."""

    ce_type: ClassVar[str] = "org.jejaring.referral.partner_deactivated.v1"
    partner_slug: Slug
    deactivated_at: AwareDatetime

    def nats_subject(self) -> str:
        return subjects.referral_event("partner_deactivated")

    def ce_subject(self) -> str:
        return self.partner_slug


EVENT_TYPES: tuple[type[Event], ...] = (
    CaseCreated,
    CaseUpdated,
    CaseClosed,
    CaseErased,
    CaseMerged,
    CaseTaskDue,
    CaseFeedbackRequested,
    ReferralRequested,
    ReferralCancelled,
    ReferralUpdated,
    PartnerReplied,
    ReferralStatusChanged,
    ReferralOverdue,
    ReferralEscalated,
    ReferralNeedUnmet,
    PartnerDeactivated,
)

BY_CE_TYPE: dict[str, type[Event]] = {cls.ce_type: cls for cls in EVENT_TYPES}


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every payload, keyed by its CloudEvents type."""
    schemas: dict[str, dict[str, Any]] = {}
    for cls in EVENT_TYPES:
        schema = cls.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:jejaring:schema:{cls.ce_type}"
        schema["$comment"] = f"CloudEvents type {cls.ce_type}; published on {_subject_of(cls)}"
        schemas[cls.ce_type] = schema
    return schemas


def _subject_of(cls: type[Event]) -> str:
    return {
        CaseCreated: subjects.CASE_CREATED,
        CaseUpdated: subjects.CASE_UPDATED,
        CaseClosed: subjects.CASE_CLOSED,
        CaseErased: subjects.CASE_ERASED,
        CaseMerged: subjects.CASE_MERGED,
        CaseTaskDue: subjects.CASE_TASK_DUE,
        CaseFeedbackRequested: subjects.CASE_FEEDBACK_REQUESTED,
        ReferralRequested: "referral.v1.to.<slug>.requested",
        ReferralCancelled: "referral.v1.to.<slug>.cancelled",
        ReferralUpdated: "referral.v1.to.<slug>.updated",
        PartnerReplied: "referral.v1.from.<slug>.<status>",
        ReferralStatusChanged: "referral.v1.event.<status>",
        ReferralOverdue: "referral.v1.event.overdue",
        ReferralEscalated: "referral.v1.event.escalated",
        ReferralNeedUnmet: "referral.v1.event.unmet",
        PartnerDeactivated: "referral.v1.event.partner_deactivated",
    }[cls]
