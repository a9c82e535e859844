"""Cases: record (once per Idempotency-Key), read, list, change and close, with their events.

Functions take keyword-only arguments and a session. The caller owns the transaction, so a case
and the event it causes (written to the outbox here) commit together or not at all; only
`record_case` runs its own, to settle two requests that race with one Idempotency-Key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import duplicates, feedback, rules, sealing
from jejaring.intake.assignments import restricted
from jejaring.intake.audit import Action, Trail
from jejaring.intake.auth import Principal, require_role
from jejaring.intake.case_events import snapshot
from jejaring.intake.errors import (
    AdminHasNoCases,
    CaseClosed,
    CaseErased,
    CaseNotFound,
    CaseRestricted,
    IdempotencyKeyReused,
    NoOverrideWaiting,
    OutsideOwnKelurahan,
    OwnOverride,
    RoleNotAllowed,
)
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case
from jejaring.intake.schemas import CaseIn, CasePatch, CloseIn, ConsentIn
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import personal
from jejaring.shared.contract.enums import ConsentGiver, RiskLevel, Service, ViolenceForm
from jejaring.shared.logs import bind_case
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.refusals import Invalid
from jejaring.shared.region import Region
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)

CASE_ROLES = (PersonRole.OFFICER, PersonRole.COORDINATOR)


def _require_case_role(by: Principal) -> None:
    if by.role == PersonRole.ADMIN:
        raise AdminHasNoCases()
    if by.role not in CASE_ROLES:
        raise RoleNotAllowed(by.role, CASE_ROLES)


def _rules_consent(consent: ConsentIn) -> rules.Consent:
    return rules.Consent(given_by=consent.given_by, override_reason=consent.override_reason)


def _stored_consent(consent: ConsentIn, *, by: Principal, now: dt.datetime) -> dict[str, Any]:
    return {
        **consent.model_dump(mode="json"),
        "recorded_at": now.isoformat(),
        "recorded_by": str(by.id),
    }


# The same SQL on SQLite and PostgreSQL; as text it is compiled once (the dialects' on_conflict
# constructs are compiled on every execution).
_BUMP_REFERENCE = text(
    "INSERT INTO reference_counter (year, last) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last = reference_counter.last + 1 RETURNING last"
).columns(last=Integer)


async def _next_reference(session: AsyncSession, *, region: Region, now: dt.datetime) -> str:
    year = now.astimezone(rules.local_zone(region)).year
    number = (await session.execute(_BUMP_REFERENCE, {"year": year})).scalar_one()
    return f"{region.reference_prefix}-{year}-{number:06d}"


PENDING = "pending"
CONFIRMED = "confirmed"


def _waits(case: Case) -> bool:
    """A consent override waits for the coordinator: no event that routes the case yet."""
    return case.override_status == PENDING


async def _announce(
    session: AsyncSession,
    case: Case,
    *,
    outbox: Outbox,
    keyring: Keyring,
    now: dt.datetime,
    creator: Principal | None = None,
    changed: tuple[str, ...] = (),
    new: bytes | None = None,
) -> None:
    """Stage the event that tells referral about the case as it is now, its personal fields
    sealed with the case's data key: nothing while an override waits; case.v1.created the
    first time (at recording, or at confirmation); case.v1.updated after. `new`: the data key
    of a case this transaction recorded (marked announced when it was written, unless it
    waits: no second write of the row, no second read of its key)."""
    if _waits(case) or (case.announced and not changed and new is None):
        return
    key = new if new is not None else await keyring.get(session, case.id)
    event: ev.CaseCreated | ev.CaseUpdated
    if new is not None or not case.announced:
        case.announced = True
        event = ev.CaseCreated(**await snapshot(session, case, creator=creator))
    else:
        event = ev.CaseUpdated(**await snapshot(session, case), changed=changed)
    await outbox.add(
        session, personal.conceal(event, key) if key else personal.strip(event), time=now
    )


def _request_hash(data: CaseIn) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


# --- record ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    case: Case
    replayed: bool  # recorded by an earlier POST with the same Idempotency-Key, not this one
    possible: list[Case]  # its possible duplicates (duplicates.possible_of), read with it


async def record_case(
    session: AsyncSession,
    *,
    data: CaseIn,
    by: Principal,
    region: Region,
    outbox: Outbox,
    now: dt.datetime,
    trail: Trail,
    keyring: Keyring,
    idempotency_key: str | None = None,
) -> Recorded:
    """Record a case and stage `case.v1.created` (422 with every broken rule at once); or, when
    `idempotency_key` was used before with the same case, answer with the case recorded then.

    Runs its own transactions: if another request with the same key commits first, this one's
    insert breaks the unique key, and a second transaction answers with that request's case.
    The audit trail gets `case.create` (and `consent.override` when consent was overridden)
    with the case, or `case.read` for an answer with the earlier case.
    """
    try:
        async with session.begin():
            if idempotency_key:
                earlier = await _case_for_key(session, key=idempotency_key, data=data, by=by)
                if earlier is not None:
                    return await _replay(session, earlier, keyring=keyring, trail=trail)
            case, key = await _new_case(
                session, data, by=by, region=region, now=now, key=idempotency_key, keyring=keyring
            )
            bind_case(case.reference)
            linked = await duplicates.index_case(session, case, keyring=keyring, now=now, new=True)
            possible = await duplicates.possible_of(session, case) if linked else []
            await _announce(
                session, case, outbox=outbox, keyring=keyring, now=now, creator=by, new=key
            )
            await trail.record(session, Action.CASE_CREATE, case_reference=case.reference)
            if data.consent.given_by == ConsentGiver.OVERRIDE:
                await trail.record(session, Action.CONSENT_OVERRIDE, case_reference=case.reference)
        log.info("case recorded", extra={"override_pending": _waits(case)})
        return Recorded(case, replayed=False, possible=possible)
    except IntegrityError:
        if not idempotency_key:
            raise
        async with session.begin():
            earlier = await _case_for_key(session, key=idempotency_key, data=data, by=by)
            if earlier is None:
                raise
            return await _replay(session, earlier, keyring=keyring, trail=trail)


async def _replay(
    session: AsyncSession, earlier: Case, *, keyring: Keyring, trail: Trail
) -> Recorded:
    """The answer to a POST whose Idempotency-Key recorded `earlier`: that case, shown."""
    await sealing.show(session, earlier, keyring)
    await trail.record(session, Action.CASE_READ, case_reference=earlier.reference)
    possible = await duplicates.possible_of(session, earlier)
    return Recorded(earlier, replayed=True, possible=possible)


async def _case_for_key(
    session: AsyncSession, *, key: str, data: CaseIn, by: Principal
) -> Case | None:
    """The case an earlier POST with this Idempotency-Key recorded, if any.

    The key is the client's, per user: reusing it for a different body is refused (422), as the
    IETF Idempotency-Key draft asks, rather than answered with a case the client did not send.
    """
    _require_case_role(by)
    case = (
        await session.execute(
            select(Case).where(Case.created_by == by.id, Case.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if case is not None and case.request_hash != _request_hash(data):
        raise IdempotencyKeyReused()
    return case


def check_case(data: CaseIn, *, by: Principal, region: Region, now: dt.datetime) -> rules.CaseCheck:
    """What recording `data` would find: the one validation pass of a new case (rules.py),
    raised as one `Invalid` naming every broken rule. Records nothing, so the web app's
    check-your-answers page can show the errors before the case is sent."""
    _require_case_role(by)
    known = region.kelurahan_by_code(data.kelurahan_code) is not None
    if known and not by.sees(data.kelurahan_code):
        raise OutsideOwnKelurahan()
    check = rules.check_case(
        kelurahan_code=data.kelurahan_code,
        reported_at=rules.as_utc(data.reported_at, region),
        incident_date=data.incident_date,
        victims=[rules.Victim(birth_date=v.birth_date, age=v.age) for v in data.victims],
        violence_forms=data.violence_forms,
        needs=data.needs,
        perpetrator_is_child=data.perpetrator is not None and data.perpetrator.is_child,
        consent=_rules_consent(data.consent),
        region=region,
        now=now,
    )
    if check.errors:
        raise Invalid(*check.errors)
    return check


async def _new_case(
    session: AsyncSession,
    data: CaseIn,
    *,
    by: Principal,
    region: Region,
    now: dt.datetime,
    key: str | None,
    keyring: Keyring,
) -> tuple[Case, bytes]:
    """The case `data` describes, numbered and flushed with its personal fields sealed with
    its new data key (returned beside it), if it meets every rule."""
    check = check_case(data, by=by, region=region, now=now)
    reported_at = rules.as_utc(data.reported_at, region)
    case = Case(
        id=uuid.uuid4(),
        reference=await _next_reference(session, region=region, now=now),
        kelurahan_code=data.kelurahan_code,
        status="open",
        risk_level=data.risk_level.value,
        reported_at=reported_at,
        incident_date=data.incident_date,
        place=data.place.value,
        violence_forms=[f.value for f in data.violence_forms],
        description=data.description,
        reporter=data.reporter.model_dump(mode="json", exclude_none=True),
        victims=[
            {
                **v.model_dump(mode="json"),
                "age": age.years,
                "age_group": age.group.value,
                "is_child": age.is_child,
            }
            for v, age in zip(data.victims, check.ages, strict=True)
        ],
        perpetrator=data.perpetrator.model_dump(mode="json") if data.perpetrator else None,
        needs=[n.value for n in data.needs],
        consent=_stored_consent(data.consent, by=by, now=now),
        legal_aid_proof=data.legal_aid_proof.model_dump(mode="json")
        if data.legal_aid_proof
        else None,
        sensitive=rules.is_sensitive(
            violence_forms=data.violence_forms, any_child=any(a.is_child for a in check.ages)
        ),
        override_status=PENDING if data.consent.given_by == ConsentGiver.OVERRIDE else None,
        # announced in this transaction (_announce), unless an override waits for the coordinator
        announced=data.consent.given_by != ConsentGiver.OVERRIDE,
        created_by=by.id,
        created_at=now,
        updated_at=now,
        version=1,
        idempotency_key=key,
        request_hash=_request_hash(data) if key else None,
    )
    session.add(case)
    data_key = keyring.create(session, case.id, now=now)
    await sealing.store(session, case, data_key)
    return case, data_key


# --- read --------------------------------------------------------------------------------------


async def get_case(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    by: Principal,
    keyring: Keyring,
    lock: bool = False,
) -> Case:
    """The case, if `by` needs to know it, its personal fields opened (absent once erased);
    another kelurahan's case is answered as not found, one of the officer's own kelurahan
    they did not record and are not assigned to as 403."""
    _require_case_role(by)
    case = await session.get(Case, case_id, with_for_update=lock)
    if case is None or not by.sees(case.kelurahan_code):
        raise CaseNotFound()
    bind_case(case.reference)
    if await restricted(session, [case], by=by):
        raise CaseRestricted()
    await sealing.show(session, case, keyring)
    return case


@dataclass(frozen=True)
class CaseFilter:
    kelurahan_code: str | None = None
    status: str | None = None
    risk_level: RiskLevel | None = None
    reported_from: dt.date | None = None
    reported_to: dt.date | None = None
    sensitive: bool | None = None
    override_status: str | None = None


async def list_cases(
    session: AsyncSession,
    *,
    by: Principal,
    region: Region,
    filters: CaseFilter,
    page: int,
    per_page: int,
) -> tuple[list[Case], int]:
    """The cases `by` may see that match `filters`, newest report first."""
    _require_case_role(by)
    query = select(Case)
    if by.role == PersonRole.OFFICER:
        query = query.where(Case.kelurahan_code == by.kelurahan_code)
    if filters.kelurahan_code:
        query = query.where(Case.kelurahan_code == filters.kelurahan_code)
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.risk_level:
        query = query.where(Case.risk_level == filters.risk_level.value)
    if filters.sensitive is not None:
        query = query.where(Case.sensitive.is_(filters.sensitive))
    if filters.override_status:
        query = query.where(Case.override_status == filters.override_status)
    zone = rules.local_zone(region)
    if filters.reported_from:
        start = dt.datetime.combine(filters.reported_from, dt.time(), zone).astimezone(dt.UTC)
        query = query.where(Case.reported_at >= start)
    if filters.reported_to:
        end = dt.datetime.combine(filters.reported_to + dt.timedelta(days=1), dt.time(), zone)
        query = query.where(Case.reported_at < end.astimezone(dt.UTC))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Case.reported_at.desc(), Case.reference.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows.all()), int(total or 0)


# --- change and close --------------------------------------------------------------------------


async def open_case(
    session: AsyncSession, *, case_id: uuid.UUID, by: Principal, keyring: Keyring
) -> tuple[Case, bytes]:
    """The case, locked for a change, and its data key, if `by` may see it and it is still
    open and not erased."""
    case = await get_case(session, case_id=case_id, by=by, keyring=keyring, lock=True)
    if case.erased_at is not None:
        raise CaseErased()
    if case.status != "open":
        raise CaseClosed()
    key = await keyring.get(session, case.id)
    if key is None:
        raise CaseErased()
    return case, key


async def update_case(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    patch: CasePatch,
    by: Principal,
    outbox: Outbox,
    now: dt.datetime,
    trail: Trail,
    keyring: Keyring,
) -> Case:
    """Add needs, change risk, consent or proof; stage `case.v1.updated` if anything changed.

    R1 and R5 hold for the case as changed (422 otherwise, and nothing changes). The audit
    trail gets `case.update` (and `consent.override` for a new overriding consent), or
    `case.read` when nothing changed (the case is answered all the same)."""
    case, key = await open_case(session, case_id=case_id, by=by, keyring=keyring)
    changed: list[str] = []
    needs = [Service(n) for n in case.needs]
    if patch.add_needs:
        added = [n for n in patch.add_needs if n not in needs]
        if added:
            needs += added
            changed.append("needs")
    consent = ConsentIn.model_validate(
        {k: v for k, v in case.consent.items() if k in ConsentIn.model_fields}
    )
    previous = consent
    if patch.consent is not None and patch.consent != consent:
        consent = patch.consent
        changed.append("consent")
    if errors := rules.check_protections(
        violence_forms=[ViolenceForm(f) for f in case.violence_forms],
        needs=needs,
        perpetrator_is_child=bool(case.perpetrator and case.perpetrator.get("is_child", False)),
        consent=_rules_consent(consent),
        any_child=any(v["is_child"] for v in case.victims),
        needs_field="add_needs",
    ):
        raise Invalid(*errors)
    if "needs" in changed:
        case.needs = [n.value for n in needs]
    if "consent" in changed:
        case.consent = _stored_consent(consent, by=by, now=now)
        _follow_override(case, previous=previous, consent=consent)
    if patch.risk_level is not None and patch.risk_level.value != case.risk_level:
        case.risk_level = patch.risk_level.value
        changed.append("risk_level")
    if patch.legal_aid_proof is not None:
        proof = patch.legal_aid_proof.model_dump(mode="json")
        if proof != case.legal_aid_proof:
            case.legal_aid_proof = proof
            changed.append("legal_aid_proof")
    if not changed:
        await trail.record(session, Action.CASE_READ, case_reference=case.reference)
        return case
    case.version += 1
    case.updated_at = now
    await sealing.store(session, case, key)
    await _announce(session, case, outbox=outbox, keyring=keyring, now=now, changed=tuple(changed))
    await trail.record(session, Action.CASE_UPDATE, case_reference=case.reference)
    if "consent" in changed and consent.given_by == ConsentGiver.OVERRIDE:
        await trail.record(session, Action.CONSENT_OVERRIDE, case_reference=case.reference)
    return case


def _follow_override(case: Case, *, previous: ConsentIn, consent: ConsentIn) -> None:
    """A new override, another reason or a wider scope waits for the coordinator again; a
    narrower scope (consent withdrawn from some partners) keeps the override as it was, so that
    the withdrawal reaches referral at once; consent by a guardian ends the override."""
    if consent.given_by != ConsentGiver.OVERRIDE:
        case.override_status = case.override_confirmed_by = case.override_confirmed_at = None
        return
    renewed = (
        previous.given_by != ConsentGiver.OVERRIDE
        or previous.override_reason != consent.override_reason
        or not set(consent.scope) <= set(previous.scope)
    )
    if renewed:
        case.override_status = PENDING
        case.override_confirmed_by = case.override_confirmed_at = None


async def close_case(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    data: CloseIn,
    by: Principal,
    outbox: Outbox,
    now: dt.datetime,
    trail: Trail,
    keyring: Keyring,
) -> Case:
    """Close an open case with its outcome and stage `case.v1.closed` (and `case.close` in
    the audit trail), and the survivor's feedback request when she may be asked
    (feedback.py)."""
    case, key = await open_case(session, case_id=case_id, by=by, keyring=keyring)
    case.status = "closed"
    case.outcome = data.outcome.value
    case.outcome_note = data.note
    case.closed_at = now
    case.updated_at = now
    case.version += 1
    await sealing.store(session, case, key)
    await duplicates.forget(session, case.id)
    if not case.announced:
        return case  # its override never confirmed: no other service knows the case
    await outbox.add(
        session,
        ev.CaseClosed(
            case_id=case.id,
            reference=case.reference,
            version=case.version,
            outcome=data.outcome,
            closed_at=now,
            note=None,  # the note may name people; partners learn the outcome only
        ),
        time=now,
    )
    await feedback.request_on_close(session, case, key=key, outbox=outbox, now=now)
    await trail.record(session, Action.CASE_CLOSE, case_reference=case.reference)
    return case


# --- the consent override's second person --------------------------------------------------------


async def confirm_override(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    by: Principal,
    outbox: Outbox,
    now: dt.datetime,
    trail: Trail,
    keyring: Keyring,
) -> Case:
    """The coordinator confirms a waiting consent override (not one they recorded themselves):
    only then is the case announced to referral and routed (`consent.confirm` in the audit
    trail)."""
    require_role(by, PersonRole.COORDINATOR)
    case, _ = await open_case(session, case_id=case_id, by=by, keyring=keyring)
    if not _waits(case):
        raise NoOverrideWaiting()
    if case.consent.get("recorded_by") == str(by.id):
        raise OwnOverride()
    case.override_status = CONFIRMED
    case.override_confirmed_by = by.id
    case.override_confirmed_at = now
    case.version += 1
    case.updated_at = now
    await session.flush()
    await _announce(session, case, outbox=outbox, keyring=keyring, now=now, changed=("consent",))
    await trail.record(session, Action.CONSENT_CONFIRM, case_reference=case.reference)
    log.info("consent override confirmed")
    return case
