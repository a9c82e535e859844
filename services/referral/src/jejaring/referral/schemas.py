"""Referral's HTTP and seed shapes."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from jejaring.shared.audit import RecordOut
from jejaring.shared.contract.enums import (
    AnswerReason,
    PartnerKind,
    ReferralStatus,
    RiskLevel,
    Service,
)
from jejaring.shared.contract.events import SHORT_TEXT_MAX, HourMinute, KelurahanCode, Slug
from jejaring.shared.web.fields import OneLine


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Strict, unlike the wire model `events.QuietHours`, which a tolerant reader lets grow: an
# admin's typo is refused here.
class QuietHours(In):
    """Local (WITA) hours in which only urgent alerts are sent, e.g. 21:00-06:00."""

    start: HourMinute
    end: HourMinute


class ContactIn(In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX), OneLine]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None
    email: (
        Annotated[
            str,
            StringConstraints(max_length=SHORT_TEXT_MAX, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
            OneLine,
        ]
        | None
    ) = None
    preferred_channel: Literal["sms", "email"] = "sms"
    quiet_hours: QuietHours | None = None
    public: bool = Field(
        default=False,
        description="Published in the partner directory (Open Referral HSDS, name, phone and "
        "email): for the organisation's own desk or duty line, never a person's private number.",
    )

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if self.phone is None and self.email is None:
            raise ValueError("a contact needs a phone or an email")
        return self


class Deadlines(In):
    """Hours a partner has to accept a referral, per risk level (R4 defaults)."""

    high: float = Field(default=1, gt=0, le=24 * 30)
    medium: float = Field(default=6, gt=0, le=24 * 30)
    low: float = Field(default=72, gt=0, le=24 * 30)

    def for_risk(self, risk: RiskLevel) -> dt.timedelta:
        return dt.timedelta(hours=float(getattr(self, risk.value)))


class PartnerIn(In):
    """A partner as an operator describes it (seed file, admin API, CLI)."""

    slug: Slug
    # Goes into alerts' subjects (an email header) and every referral event (events.ShortText).
    name: Annotated[str, StringConstraints(min_length=2, max_length=SHORT_TEXT_MAX), OneLine]
    kind: PartnerKind
    services: Annotated[list[Service], Field(min_length=1, max_length=20)]
    kelurahan: Annotated[list[KelurahanCode], Field(max_length=100)] = Field(
        default_factory=list, description="Empty: every kelurahan of the kecamatan"
    )
    contacts: Annotated[list[ContactIn], Field(max_length=20)] = Field(default_factory=list)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    active: bool = True


class PartnerOut(BaseModel):
    slug: str
    name: str
    kind: PartnerKind
    services: list[Service]
    kelurahan: list[str]
    contacts: list[ContactIn]
    deadlines: Deadlines
    active: bool
    stream: str
    created_at: dt.datetime


class PartnerCreated(PartnerOut):
    token: str = Field(description="The partner's API token, shown once: only its hash is kept.")


class TokenIn(In):
    """The body of POST /partners/{slug}/token (optional)."""

    revoke_old: bool = Field(
        default=False,
        description="The previous token stops now instead of after the grace period.",
    )


class TokenIssued(BaseModel):
    slug: str
    token: str = Field(description="The partner's new API token, shown once.")
    previous_valid_until: dt.datetime | None = Field(
        description="Until when the previous token still works; null: it stopped now."
    )


def check_user_nkey(key: str) -> str:
    """`key` if it is an NKey user public key (U…, 56 characters, its checksum right): one bad
    key in the server's configuration would stop every reload."""
    try:
        raw = base64.b32decode(key) if len(key) == 56 and key.startswith("U") else b""
    except binascii.Error:
        raw = b""
    if len(raw) != 35 or binascii.crc_hqx(raw[:-2], 0) != int.from_bytes(raw[-2:], "little"):
        raise ValueError("not an NKey user public key (56 characters starting with U)")
    return key


class NatsKeyIn(In):
    """A partner's NKey public key (made on the operator's machine; the seed never comes here)."""

    public_key: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    expires_days: int = Field(default=365, ge=1, le=3650)
    rotate: bool = Field(
        default=False,
        description="Keep the partner's other keys valid for `grace_days` (a switch with no gap); "
        "otherwise they are revoked now.",
    )
    grace_days: int = Field(default=7, ge=1, le=90)

    @field_validator("public_key")
    @classmethod
    def _nkey(cls, value: str) -> str:
        return check_user_nkey(value)


class NatsKeyRevokeIn(In):
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = Field(
        default=None, description="The key to revoke; none: every key but the newest."
    )


class NatsKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    public_key: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class StatusIn(In):
    """A partner's answer about a referral (over HTTP; NATS replies carry the same fields)."""

    status: ReferralStatus
    # The answer travels as ReferralStatusChanged (and ReferralCancelled), whose `reason` is an
    # events.ShortText: a longer one would be refused by its own event (it was a 500).
    reason: Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)] | None = None
    reason_code: AnswerReason | None = Field(
        default=None,
        description="The reason as a code the reports count; without a `reason`, the code's "
        "Indonesian label is the reason (and satisfies a required one).",
    )
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_reference: str
    partner_slug: str
    service: Service
    status: ReferralStatus
    business_status: list[str]
    priority: str
    risk_level: RiskLevel
    kelurahan_code: str
    accept_by: dt.datetime
    requested_at: dt.datetime
    updated_at: dt.datetime
    reason: str | None
    reason_code: AnswerReason | None = None
    note: str | None
    answered_by: str | None = None
    allowed_answers: list[ReferralStatus] = Field(
        default_factory=list,
        description="The answers a partner may give from the current status (FHIR Task moves); "
        "empty once the status is final.",
    )


class AuditRecordOut(RecordOut):
    """One record of referral's audit trail: who did what to which partner or referral, when,
    from where (a token acting: `user_id` 00000000-0000-0000-0000-000000000002, and its role
    `admin_token` or `partner_token`)."""

    partner: str | None = Field(description="The partner acted on, or answering.")
    subject_id: uuid.UUID | None = Field(description="The referral answered (answers).")
    client: str | None = Field(description="The client's address as referral saw it.")


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    total: int
    page: int
    per_page: int
