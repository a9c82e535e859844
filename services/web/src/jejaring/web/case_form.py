"""The record-a-case form: its steps, its answers carried from step to step in the form itself
(hidden fields, never the session store or the browser's storage), the body it becomes for
intake's `POST /api/v1/cases`, and where each of intake's errors belongs on it.

Only what the form itself needs is checked here (a choice made, a date that reads as one);
the rules of a case (R1, R5, dates, ages) are intake's, asked with `POST /api/v1/cases/check`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from jejaring.shared.contract.enums import Service
from jejaring.web.forms import Form

INCIDENT, VICTIMS, PERPETRATOR, NEEDS, CONSENT, LEGAL_AID, CHECK = (
    "incident",
    "victims",
    "perpetrator",
    "needs",
    "consent",
    "legal_aid",
    "check",
)
STEPS = (INCIDENT, VICTIMS, PERPETRATOR, NEEDS, CONSENT, LEGAL_AID, CHECK)
MAX_VICTIMS = 20
NO_PROOF = "none"
REPORTER_KINDS = ("victim", "family", "neighbour", "teacher", "officer", "other")
OVERRIDE_REASONS = ("guardian_is_alleged_perpetrator", "child_in_danger")
LOCAL_TIME = "%Y-%m-%dT%H:%M"

# The inputs of each step (victims' inputs are "victims-<i>-<field>").
STEP_FIELDS = {
    INCIDENT: (
        "reported_at",
        "incident_date",
        "place",
        "violence_forms",
        "description",
        "risk_level",
        "reporter_kind",
    ),
    VICTIMS: (),
    PERPETRATOR: ("perpetrator-relationship", "perpetrator-sex", "perpetrator-is_child"),
    NEEDS: ("needs",),
    CONSENT: ("consent-given_by", "consent-override_reason", "consent-scope"),
    LEGAL_AID: ("proof-kind", "proof-number"),
}
VICTIM_FIELDS = ("name", "sex", "birth_date", "age", "phone", "safe_to_contact")


@dataclass
class VictimAnswers:
    name: str = ""
    sex: str = ""
    birth_date: str = ""
    age: str = ""
    phone: str = ""
    safe_to_contact: str = ""  # "yes" when ticked


@dataclass
class Answers:
    """Everything typed so far, as text, exactly as the form holds it."""

    reported_at: str = ""
    incident_date: str = ""
    place: str = ""
    violence_forms: list[str] = field(default_factory=list)
    description: str = ""
    risk_level: str = ""
    reporter_kind: str = ""
    victims: list[VictimAnswers] = field(default_factory=lambda: [VictimAnswers()])
    perpetrator_relationship: str = ""
    perpetrator_sex: str = ""
    perpetrator_is_child: str = ""
    needs: list[str] = field(default_factory=list)
    consent_given_by: str = ""
    consent_override_reason: str = ""
    consent_scope: list[str] = field(default_factory=list)
    proof_kind: str = ""
    proof_number: str = ""

    @classmethod
    def from_form(cls, form: Form) -> Answers:
        count = _count(form.get("victim_count"))
        victims = [
            VictimAnswers(**{f: form.get(f"victims-{i}-{f}") for f in VICTIM_FIELDS})
            for i in range(count)
        ]
        return cls(
            reported_at=form.get("reported_at"),
            incident_date=form.get("incident_date"),
            place=form.get("place"),
            violence_forms=form.getlist("violence_forms"),
            description=form.get("description"),
            risk_level=form.get("risk_level"),
            reporter_kind=form.get("reporter_kind"),
            victims=victims,
            perpetrator_relationship=form.get("perpetrator-relationship"),
            perpetrator_sex=form.get("perpetrator-sex"),
            perpetrator_is_child=form.get("perpetrator-is_child"),
            needs=form.getlist("needs"),
            consent_given_by=form.get("consent-given_by"),
            consent_override_reason=form.get("consent-override_reason"),
            consent_scope=form.getlist("consent-scope"),
            proof_kind=form.get("proof-kind"),
            proof_number=form.get("proof-number"),
        )

    def fields(self) -> list[tuple[str, str]]:
        """Every answer as (input name, value): what the hidden fields carry."""
        pairs: list[tuple[str, str]] = [
            ("reported_at", self.reported_at),
            ("incident_date", self.incident_date),
            ("place", self.place),
            *(("violence_forms", v) for v in self.violence_forms),
            ("description", self.description),
            ("risk_level", self.risk_level),
            ("reporter_kind", self.reporter_kind),
            ("victim_count", str(len(self.victims))),
        ]
        for i, victim in enumerate(self.victims):
            pairs += [(f"victims-{i}-{f}", getattr(victim, f)) for f in VICTIM_FIELDS]
        pairs += [
            ("perpetrator-relationship", self.perpetrator_relationship),
            ("perpetrator-sex", self.perpetrator_sex),
            ("perpetrator-is_child", self.perpetrator_is_child),
            *(("needs", v) for v in self.needs),
            ("consent-given_by", self.consent_given_by),
            ("consent-override_reason", self.consent_override_reason),
            *(("consent-scope", v) for v in self.consent_scope),
            ("proof-kind", self.proof_kind),
            ("proof-number", self.proof_number),
        ]
        return [(k, v) for k, v in pairs if v != ""]

    def hidden_for(self, step: str) -> list[tuple[str, str]]:
        """The hidden fields of a step's page: every answer but the step's own inputs."""
        return [(k, v) for k, v in self.fields() if step_of(k) != step]

    def steps(self) -> list[str]:
        """The steps this case goes through: legal aid proof only when legal aid is needed."""
        return [s for s in STEPS if s != LEGAL_AID or self.needs_legal_aid]

    @property
    def needs_legal_aid(self) -> bool:
        return Service.LEGAL_AID.value in self.needs

    def next_step(self, step: str) -> str:
        steps = self.steps()
        return steps[min(steps.index(step) + 1, len(steps) - 1)] if step in steps else CHECK

    def previous_step(self, step: str) -> str:
        steps = self.steps()
        return steps[max(steps.index(step) - 1, 0)] if step in steps else INCIDENT

    def to_body(self, *, kelurahan_code: str, zone: ZoneInfo) -> dict[str, Any]:
        """The body of intake's `POST /api/v1/cases` (and `/cases/check`). Text that does not
        read as a date or a number is passed on as it is, for intake to name."""
        body: dict[str, Any] = {
            "kelurahan_code": kelurahan_code,
            "reported_at": _local_time(self.reported_at, zone),
            "place": self.place,
            "violence_forms": self.violence_forms,
            "risk_level": self.risk_level,
            "reporter": {"kind": self.reporter_kind},
            "victims": [_victim(v) for v in self.victims],
            "perpetrator": {
                "relationship": self.perpetrator_relationship,
                "is_child": self.perpetrator_is_child == "yes",
            },
            "needs": self.needs,
            "consent": {"given_by": self.consent_given_by, "scope": self.consent_scope},
        }
        if self.incident_date:
            body["incident_date"] = self.incident_date
        if self.description:
            body["description"] = self.description
        if self.perpetrator_sex in ("female", "male"):
            body["perpetrator"]["sex"] = self.perpetrator_sex
        if self.consent_given_by == "override" and self.consent_override_reason:
            body["consent"]["override_reason"] = self.consent_override_reason
        if self.needs_legal_aid and self.proof_kind and self.proof_kind != NO_PROOF:
            proof: dict[str, Any] = {"kind": self.proof_kind}
            if self.proof_number:
                proof["number"] = self.proof_number
            body["legal_aid_proof"] = proof
        return body


def _count(raw: str) -> int:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_VICTIMS else 1


def _local_time(value: str, zone: ZoneInfo) -> str:
    """A time typed in the region's zone (WITA), with its offset, as intake expects."""
    try:
        moment = dt.datetime.strptime(value, LOCAL_TIME)
    except ValueError:
        return value
    return moment.replace(tzinfo=zone).isoformat()


def _victim(v: VictimAnswers) -> dict[str, Any]:
    victim: dict[str, Any] = {
        "name": v.name,
        "sex": v.sex,
        "safe_to_contact": v.safe_to_contact == "yes",
    }
    if v.birth_date:
        victim["birth_date"] = v.birth_date
    elif v.age:
        victim["age"] = int(v.age) if v.age.isdigit() else v.age
    if v.phone:
        victim["phone"] = v.phone
    return victim


_VICTIM_INPUT = re.compile(r"^victims-(\d+)-(\w+)$")


def step_of(input_name: str) -> str | None:
    """The step whose page holds this input."""
    if input_name == "victim_count" or _VICTIM_INPUT.match(input_name):
        return VICTIMS
    return next((s for s, names in STEP_FIELDS.items() if input_name in names), None)


# --- what the form itself checks --------------------------------------------------------------


def missing(answers: Answers, step: str) -> list[tuple[str, str]]:
    """(input, message key) for what a step needs before the case can even be checked."""
    a = answers
    out: list[tuple[str, str]] = []
    if step == INCIDENT:
        if not _reads_as_time(a.reported_at):
            out.append(("reported_at", "case.reported_at.missing"))
        if a.incident_date and not _reads_as_date(a.incident_date):
            out.append(("incident_date", "case.date.invalid"))
        if not a.place:
            out.append(("place", "case.place.missing"))
        if not a.violence_forms:
            out.append(("violence_forms", "case.violence_forms.missing"))
        if not a.risk_level:
            out.append(("risk_level", "case.risk_level.missing"))
        if not a.reporter_kind:
            out.append(("reporter_kind", "case.reporter_kind.missing"))
    elif step == VICTIMS:
        for i, v in enumerate(a.victims):
            if not v.name:
                out.append((f"victims-{i}-name", "case.victim.name.missing"))
            if not v.sex:
                out.append((f"victims-{i}-sex", "case.victim.sex.missing"))
            if v.birth_date and not _reads_as_date(v.birth_date):
                out.append((f"victims-{i}-birth_date", "case.date.invalid"))
            elif not v.birth_date and not v.age:
                out.append((f"victims-{i}-birth_date", "case.victim.age.missing"))
            elif not v.birth_date and not v.age.isdigit():
                out.append((f"victims-{i}-age", "case.victim.age.invalid"))
    elif step == PERPETRATOR:
        if not a.perpetrator_relationship:
            out.append(("perpetrator-relationship", "case.perpetrator.relationship.missing"))
        if not a.perpetrator_is_child:
            out.append(("perpetrator-is_child", "case.perpetrator.is_child.missing"))
    elif step == CONSENT:
        if not a.consent_given_by:
            out.append(("consent-given_by", "case.consent.given_by.missing"))
        if not a.consent_scope:
            out.append(("consent-scope", "case.consent.scope.missing"))
    elif step == LEGAL_AID and not a.proof_kind:
        out.append(("proof-kind", "case.proof.kind.missing"))
    return out


def _reads_as_time(value: str) -> bool:
    try:
        dt.datetime.strptime(value, LOCAL_TIME)
    except ValueError:
        return False
    return True


def _reads_as_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


# --- where intake's errors belong ---------------------------------------------------------------

_NAMED = {
    "reported_at": "reported_at",
    "incident_date": "incident_date",
    "place": "place",
    "violence_forms": "violence_forms",
    "description": "description",
    "risk_level": "risk_level",
    "reporter": "reporter_kind",
    "victims": "victims-0-name",
    "perpetrator": "perpetrator-relationship",
    "needs": "needs",
    "add_needs": "needs",
    "consent": "consent-given_by",
    "legal_aid_proof": "proof-kind",
}


def input_for(intake_field: str) -> str | None:
    """The input an error of intake's body field belongs beside (`victims.0.birth_date` →
    `victims-0-birth_date`), or None for an error about the case as a whole."""
    parts = intake_field.split(".")
    head = parts[0]
    if head == "victims" and len(parts) >= 3 and parts[1].isdigit():
        name = parts[2] if parts[2] in VICTIM_FIELDS else "name"
        return f"victims-{parts[1]}-{name}"
    if head in ("perpetrator", "consent") and len(parts) >= 2:
        candidate = f"{head}-{parts[1]}"
        if candidate in STEP_FIELDS[PERPETRATOR] + STEP_FIELDS[CONSENT]:
            return candidate
    if head == "legal_aid_proof" and len(parts) >= 2 and parts[1] in ("kind", "number"):
        return f"proof-{parts[1]}"
    return _NAMED.get(head)
