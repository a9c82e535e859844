"""Case work (issue 20, items 1 and 2): the dated activities of PPATBM's own work on a case
(accompaniment, home visit, phone follow-up, mediation session, meeting with a partner), and
mediation only where the law allows it (rules.check_mediation_session).

Who may record an activity is who may change the case (`cases._open_case`: its officers and
the coordinator, an open case not erased). The note is personal data: sealed with the case's
data key (purpose "intake.activity"); codes and dates stay plain. Listing them is a read of
the case (`case.read` in the audit trail); recording one is `activity.record`. After an
erasure the activities stay as plain facts, their notes gone.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import StringConstraints
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import cases, rules, tasks
from jejaring.intake.api import Audit, Ctx, Who
from jejaring.intake.audit import Action, Trail
from jejaring.intake.auth import Principal
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, CaseActivity, User
from jejaring.intake.schemas import In, Out
from jejaring.shared import crypto
from jejaring.shared.contract.enums import RiskLevel, ViolenceForm
from jejaring.shared.refusals import FieldError, Invalid
from jejaring.shared.region import Region

log = logging.getLogger(__name__)

PURPOSE = "intake.activity"
NOTE_MAX = 1000
FOLLOW_UP_TASK = "follow_up_visit"
# The follow-up task's title (sealed like any task's): user-facing, in Bahasa Indonesia.
FOLLOW_UP_TITLE = "Kunjungan tindak lanjut kesepakatan mediasi"


class ActivityKind(StrEnum):
    ACCOMPANIMENT = "accompaniment"  # pendampingan
    HOME_VISIT = "home_visit"
    PHONE_FOLLOW_UP = "phone_follow_up"
    MEDIATION_SESSION = "mediation_session"
    PARTNER_MEETING = "partner_meeting"


class AccompanimentPlace(StrEnum):
    """Where, and with whom, the victim was accompanied."""

    POLICE = "police"
    PUSKESMAS = "puskesmas"
    COURT = "court"
    SHELTER = "shelter"
    OTHER = "other"


class MediationOutcome(StrEnum):
    AGREEMENT = "agreement"
    NO_AGREEMENT = "no_agreement"
    REFERRED = "referred"


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_MAX)]


class ActivityIn(In):
    kind: ActivityKind
    place: AccompanimentPlace | None = None
    occurred_on: dt.date
    note: Note
    outcome: MediationOutcome | None = None
    follow_up_due: dt.date | None = None


class ActivityOut(Out):
    """An activity as the case's officers and the coordinator see it (times in WITA)."""

    id: uuid.UUID
    kind: ActivityKind
    place: AccompanimentPlace | None
    occurred_on: dt.date
    note: str | None
    erased: bool
    outcome: MediationOutcome | None
    follow_up_due: dt.date | None
    follow_up_task_id: uuid.UUID | None
    recorded_by: uuid.UUID
    recorded_by_name: str | None
    recorded_at: dt.datetime


def _error(field: str, code: str, message: str, message_en: str) -> FieldError:
    return FieldError(field, code, message, message_en)


def check_activity(data: ActivityIn, *, case: Case, today: dt.date, report_day: dt.date) -> None:
    """Every rule an activity must meet on this case, in one pass (one 422 naming each)."""
    errors: list[FieldError] = []
    if data.occurred_on > today:
        errors.append(
            _error(
                "occurred_on",
                "date_in_future",
                "Tanggal kegiatan tidak boleh di masa depan.",
                "The activity's date cannot be in the future.",
            )
        )
    elif data.occurred_on < report_day:
        errors.append(
            _error(
                "occurred_on",
                "before_report",
                "Tanggal kegiatan tidak boleh sebelum tanggal laporan kasus.",
                "The activity's date cannot be before the case was reported.",
            )
        )
    accompaniment = data.kind == ActivityKind.ACCOMPANIMENT
    if accompaniment and data.place is None:
        errors.append(
            _error(
                "place",
                "place_missing",
                "Pilih ke mana atau bersama siapa korban didampingi.",
                "Choose where, or with whom, the victim was accompanied.",
            )
        )
    elif not accompaniment and data.place is not None:
        errors.append(
            _error(
                "place",
                "place_only_for_accompaniment",
                "Tempat hanya diisi untuk pendampingan.",
                "A place is given for an accompaniment only.",
            )
        )
    if data.kind == ActivityKind.MEDIATION_SESSION:
        errors += rules.check_mediation_session(
            violence_forms=[ViolenceForm(f) for f in case.violence_forms],
            perpetrator_is_child=bool(case.perpetrator and case.perpetrator.get("is_child")),
            risk_level=RiskLevel(case.risk_level),
        )
        errors += _check_outcome(data)
    elif data.outcome is not None or data.follow_up_due is not None:
        field = "outcome" if data.outcome is not None else "follow_up_due"
        errors.append(
            _error(
                field,
                "only_for_mediation",
                "Hasil mediasi dan tanggal tindak lanjut hanya untuk sesi mediasi.",
                "A mediation outcome and a follow-up date are for a mediation session only.",
            )
        )
    if errors:
        raise Invalid(*errors)


def _check_outcome(data: ActivityIn) -> list[FieldError]:
    """A mediation session's outcome; an agreement is followed up by a visit after it."""
    if data.outcome is None:
        return [
            _error(
                "outcome",
                "outcome_missing",
                "Pilih hasil mediasi: sepakat, tidak sepakat, atau dirujuk.",
                "Choose the mediation's outcome: agreement, no agreement or referred.",
            )
        ]
    if data.outcome != MediationOutcome.AGREEMENT:
        if data.follow_up_due is None:
            return []
        return [
            _error(
                "follow_up_due",
                "follow_up_only_for_agreement",
                "Tanggal kunjungan tindak lanjut hanya diisi bila ada kesepakatan.",
                "A follow-up visit date is given for an agreement only.",
            )
        ]
    if data.follow_up_due is None:
        return [
            _error(
                "follow_up_due",
                "follow_up_due_missing",
                "Kesepakatan mediasi perlu tanggal kunjungan tindak lanjut.",
                "A mediation agreement needs the date of a follow-up visit.",
            )
        ]
    if data.follow_up_due <= data.occurred_on:
        return [
            _error(
                "follow_up_due",
                "follow_up_not_after_session",
                "Tanggal kunjungan tindak lanjut harus sesudah tanggal sesi mediasi.",
                "The follow-up visit must be after the mediation session.",
            )
        ]
    return []


async def record_activity(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    data: ActivityIn,
    by: Principal,
    region: Region,
    keyring: Keyring,
    trail: Trail,
    now: dt.datetime,
) -> CaseActivity:
    """Record an activity of the case in the caller's transaction, its note sealed; an
    agreement of mediation adds the follow-up visit to the case's plan (tasks.add_task),
    due on `follow_up_due` and on the recording officer. 409 on a closed or erased case."""
    case, key = await cases._open_case(session, case_id=case_id, by=by, keyring=keyring)
    zone = rules.local_zone(region)
    today = now.astimezone(zone).date()
    check_activity(
        data, case=case, today=today, report_day=case.reported_at.astimezone(zone).date()
    )
    activity = CaseActivity(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=data.kind.value,
        place=data.place.value if data.place else None,
        occurred_on=data.occurred_on,
        outcome=data.outcome.value if data.outcome else None,
        follow_up_due=data.follow_up_due,
        sealed=crypto.seal(key, data.note.encode(), associated=crypto.aad(case.id, PURPOSE)),
        recorded_by=by.id,
        recorded_at=now,
    )
    if data.outcome == MediationOutcome.AGREEMENT and data.follow_up_due is not None:
        task = await tasks.add_task(
            session,
            case=case,
            kind=FOLLOW_UP_TASK,
            title=FOLLOW_UP_TITLE,
            due_on=data.follow_up_due,
            responsible_user_id=by.id,
            responsible_partner=None,
            created_by=by.id,
            key=key,
            now=now,
        )
        activity.follow_up_task_id = task.id
    session.add(activity)
    await session.flush()
    await trail.record(session, Action.ACTIVITY_RECORD, case_reference=case.reference)
    log.info("case activity recorded", extra={"kind": activity.kind})
    return activity


def _note(activity: CaseActivity, key: bytes | None) -> str | None:
    """The note, or None once the case was erased (its seal or its key gone)."""
    if activity.sealed is None or key is None:
        return None
    return crypto.unseal(
        key, activity.sealed, associated=crypto.aad(activity.case_id, PURPOSE)
    ).decode()


async def activities_of(
    session: AsyncSession, *, case_id: uuid.UUID, by: Principal, keyring: Keyring
) -> tuple[Case, list[tuple[CaseActivity, str | None, str | None]]]:
    """The case's activities, newest first, each with its note (None once erased) and the
    name of who recorded it, if `by` may read the case."""
    case = await cases.get_case(session, case_id=case_id, by=by, keyring=keyring)
    key = await keyring.get(session, case.id)
    rows = await session.execute(
        select(CaseActivity, User.name)
        .outerjoin(User, User.id == CaseActivity.recorded_by)
        .where(CaseActivity.case_id == case.id)
        .order_by(CaseActivity.occurred_on.desc(), CaseActivity.recorded_at.desc())
    )
    return case, [(a, _note(a, key), name) for a, name in rows.tuples().all()]


async def erase(session: AsyncSession, case_id: uuid.UUID) -> None:
    """The notes of the case's activities gone (erasure.py; the codes and dates stay)."""
    await session.execute(
        update(CaseActivity).where(CaseActivity.case_id == case_id).values(sealed=None)
    )


# --- HTTP -------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1/cases/{case_id}/activities", tags=["case work"])


def _out(activity: CaseActivity, note: str | None, name: str | None, region: Region) -> ActivityOut:
    return ActivityOut(
        id=activity.id,
        kind=ActivityKind(activity.kind),
        place=AccompanimentPlace(activity.place) if activity.place else None,
        occurred_on=activity.occurred_on,
        note=note,
        erased=note is None,
        outcome=MediationOutcome(activity.outcome) if activity.outcome else None,
        follow_up_due=activity.follow_up_due,
        follow_up_task_id=activity.follow_up_task_id,
        recorded_by=activity.recorded_by,
        recorded_by_name=name,
        recorded_at=activity.recorded_at.astimezone(rules.local_zone(region)),
    )


@router.post("", status_code=201, response_model=ActivityOut)
async def add_activity(
    case_id: uuid.UUID, body: ActivityIn, who: Who, ctx: Ctx, trail: Audit, response: Response
) -> ActivityOut:
    """Record a dated activity of the case (its officers and the coordinator; 409 once the
    case is closed or erased). A mediation session is refused (422, field `kind`) for sexual
    violence unless the perpetrator is a child (R1) and whenever the risk is high; it needs
    its `outcome`, and an agreement a `follow_up_due` date, which adds a follow-up visit to
    the case's plan."""
    async with ctx.sessions() as session, session.begin():
        activity = await record_activity(
            session,
            case_id=case_id,
            data=body,
            by=who,
            region=ctx.region,
            keyring=ctx.keyring,
            trail=trail,
            now=ctx.clock(),
        )
    response.headers["Location"] = f"/api/v1/cases/{case_id}/activities"
    return _out(activity, body.note, who.name, ctx.region)


@router.get("", response_model=list[ActivityOut])
async def list_activities(
    case_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> list[ActivityOut]:
    """The case's activities, newest first (a read of the case, in the audit trail). Once the
    case is erased they are listed without their notes (`erased`)."""
    async with ctx.sessions() as session:
        case, found = await activities_of(session, case_id=case_id, by=who, keyring=ctx.keyring)
        await trail.record(session, Action.CASE_READ, case_reference=case.reference, commit=True)
    return [_out(a, note, name, ctx.region) for a, note, name in found]
