"""What a case's events tell partners: the payload of `case.v1.created` and `case.v1.updated`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.auth import Principal
from jejaring.intake.models import Case, User
from jejaring.shared.contract import events as ev


def officer_contact(officer: Principal | User) -> ev.Contact:
    """How an officer (or the coordinator) is reached, in the events intake writes."""
    return ev.Contact(name=officer.name, phone=officer.phone, email=officer.email)


async def snapshot(
    session: AsyncSession, case: Case, *, creator: Principal | None = None
) -> dict[str, Any]:
    """The fields of CaseCreated/CaseUpdated for `case` (`creator`: who is recording it now,
    saving a lookup of the user who did)."""
    officer: Principal | User | None = creator or await session.get(User, case.created_by)
    contact = (
        officer_contact(officer)
        if officer is not None
        else ev.Contact(name="Koordinator kecamatan")
    )
    consent = case.consent
    return {
        "case_id": case.id,
        "reference": case.reference,
        "version": case.version,
        "kelurahan_code": case.kelurahan_code,
        "reported_at": case.reported_at,
        "incident_date": case.incident_date,
        "place": case.place,
        "violence_forms": tuple(case.violence_forms),
        "description": case.description,
        "risk_level": case.risk_level,
        "victims": tuple(
            ev.Victim(
                name=v["name"],
                sex=v["sex"],
                age_group=v["age_group"],
                is_child=v["is_child"],
                birth_date=v.get("birth_date"),
                phone=v.get("phone"),
                safe_to_contact=v.get("safe_to_contact", False),
                preferred_channel=v.get("preferred_channel"),
                address=v.get("address"),
                disability=v.get("disability"),
            )
            for v in case.victims
        ),
        "perpetrator": ev.Perpetrator(**case.perpetrator) if case.perpetrator else None,
        "needs": tuple(case.needs),
        "consent": ev.Consent(
            given_by=consent["given_by"],
            scope=tuple(consent["scope"]),
            override_reason=consent.get("override_reason"),
            recorded_at=dt.datetime.fromisoformat(consent["recorded_at"]),
            recorded_by=consent["recorded_by"],
        ),
        "legal_aid_proof": ev.LegalAidProof(**case.legal_aid_proof)
        if case.legal_aid_proof
        else None,
        "officer": contact,
    }
