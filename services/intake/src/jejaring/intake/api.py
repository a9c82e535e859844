"""Intake's HTTP API for PPATBM officers, the coordinator and the admin."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.intake import (
    accounts,
    assignments,
    audit,
    board,
    cases,
    read_model,
    rules,
    users,
)
from jejaring.intake.audit import Action
from jejaring.intake.auth import Principal, authenticate, require_role
from jejaring.intake.errors import CaseNotFound
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, ReferralView, User
from jejaring.intake.schemas import (
    AssignIn,
    BoardCase,
    BoardHighRisk,
    BoardOut,
    BoardReferral,
    BoardUnmet,
    CaseIn,
    CaseOut,
    CasePage,
    CasePatch,
    CaseRef,
    CaseReferralOut,
    CaseSummary,
    CloseIn,
    KelurahanOut,
    OfficerOut,
    PersonOut,
    ReferralOut,
    ReferralStepOut,
    RefreshIn,
    SetupCodeIn,
    SetupCodeOut,
    SetupIn,
    SignedIn,
    SignInIn,
    TokenIssued,
    UnmetNeedOut,
    UserCreated,
    UserIn,
    UserOut,
)
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.contract.enums import RiskLevel
from jejaring.shared.db import read_only
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.region import Region
from jejaring.shared.web.identity import PersonRole
from jejaring.shared.web.people import person_of

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Context:
    settings: IntakeSettings
    region: Region
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    clock: Clock
    policy: accounts.AccountPolicy
    passwords: accounts.Passwords
    keyring: Keyring


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.intake
    return ctx


Ctx = Annotated[Context, Depends(context)]


async def principal(
    ctx: Ctx, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    person = person_of(authorization, settings=ctx.settings, clock=ctx.clock)
    admin = ctx.settings.admin_token.get_secret_value() if ctx.settings.admin_token else None
    async with ctx.sessions() as session:
        await read_only(session)
        return await authenticate(
            session, authorization=authorization, admin_token=admin, now=ctx.clock(), person=person
        )


Who = Annotated[Principal, Depends(principal)]


async def trail(who: Who, ctx: Ctx, request: Request) -> audit.Trail:
    """Who acts and from where (the client's address as uvicorn sees it: a proxy's
    X-Forwarded-For is taken only from INTAKE_FORWARDED_ALLOW_IPS), for the audit trail."""
    client = request.client.host if request.client else None
    return audit.Trail(who=who, client=client, clock=ctx.clock)


Audit = Annotated[audit.Trail, Depends(trail)]

router = APIRouter(prefix="/api/v1")


async def _case_out(
    session: AsyncSession, case: Case, region: Region, *, new: bool = False
) -> CaseOut:
    zone = rules.local_zone(region)
    # A case recorded by this very request has no referral statuses yet: skip the queries.
    referrals, unmet = ([], []) if new else await read_model.referrals_of(session, case_id=case.id)
    steps = {} if new else await read_model.steps_of(session, case_id=case.id)
    assigned = [] if new else await assignments.assigned_to(session, case_id=case.id)
    kelurahan = region.kelurahan_by_code(case.kelurahan_code)

    def local(value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(zone) if value is not None else None

    consent = dict(case.consent)
    consent["recorded_at"] = local(dt.datetime.fromisoformat(consent["recorded_at"]))
    return CaseOut(
        id=case.id,
        reference=case.reference,
        status=case.status,
        kelurahan=KelurahanOut(
            code=case.kelurahan_code, name=kelurahan.name if kelurahan else case.kelurahan_code
        ),
        reported_at=case.reported_at.astimezone(zone),
        incident_date=case.incident_date,
        place=case.place,
        violence_forms=case.violence_forms,
        description=case.description,
        risk_level=case.risk_level,
        reporter=case.reporter,
        victims=case.victims,
        perpetrator=case.perpetrator,
        needs=case.needs,
        consent=consent,
        legal_aid_proof=case.legal_aid_proof,
        outcome=case.outcome,
        outcome_note=case.outcome_note,
        closed_at=local(case.closed_at),
        created_at=case.created_at.astimezone(zone),
        updated_at=case.updated_at.astimezone(zone),
        version=case.version,
        sensitive=case.sensitive,
        override_status=case.override_status,
        override_confirmed_by=case.override_confirmed_by,
        override_confirmed_at=local(case.override_confirmed_at),
        erased_at=local(case.erased_at),
        erased_why=case.erased_why,
        erasure_reason=case.erasure_reason,
        assigned_to=assigned,
        referrals=[
            CaseReferralOut.model_validate(r).model_copy(
                update={
                    "accept_by": local(r.accept_by),
                    "updated_at": local(r.updated_at),
                    "steps": [
                        ReferralStepOut(
                            kind=s.kind,
                            status=s.status,
                            business_status=s.business_status,
                            by=s.answered_by,
                            at=s.occurred_at.astimezone(zone),
                        )
                        for s in steps.get(r.referral_id, [])
                    ],
                }
            )
            for r in referrals
        ],
        unmet_needs=[UnmetNeedOut.model_validate(u) for u in unmet],
    )


async def _changed(
    ctx: Context, change: Callable[..., Awaitable[Case]], *, by: Principal, trail: audit.Trail
) -> CaseOut:
    """Change a case in one transaction with its event and its audit record; answer with it."""
    async with ctx.sessions() as session:
        async with session.begin():
            case = await change(
                session,
                by=by,
                outbox=ctx.outbox,
                now=ctx.clock(),
                trail=trail,
                keyring=ctx.keyring,
            )
        return await _case_out(session, case, ctx.region)


@router.post("/cases", status_code=201, response_model=CaseOut, tags=["cases"])
async def create_case(
    body: CaseIn,
    who: Who,
    ctx: Ctx,
    response: Response,
    trail: Audit,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=8,
            max_length=64,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="A key the client makes once per case (a UUID, say) and sends again "
            "when it retries: if the first POST was recorded, the retry answers with that case "
            "(header `Idempotent-Replayed: true`) instead of recording it twice.",
        ),
    ] = None,
) -> CaseOut:
    """Record a case. Refused with 422 naming each field and rule that is not met."""
    async with ctx.sessions() as session:
        recorded = await cases.record_case(
            session,
            data=body,
            by=who,
            region=ctx.region,
            outbox=ctx.outbox,
            now=ctx.clock(),
            idempotency_key=idempotency_key,
            trail=trail,
            keyring=ctx.keyring,
        )
        if recorded.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        response.headers["Location"] = f"/api/v1/cases/{recorded.case.id}"
        out = await _case_out(session, recorded.case, ctx.region, new=not recorded.replayed)
        return out.model_copy(
            update={
                "possible_duplicates": [
                    CaseRef(case_id=c.id, reference=c.reference) for c in recorded.possible
                ]
            }
        )


@router.post("/cases/check", status_code=204, response_class=Response, tags=["cases"])
async def check_case(body: CaseIn, who: Who, ctx: Ctx) -> Response:
    """Check a case without recording it: 204 if `POST /cases` would take it, else the same
    422 naming each field and rule that is not met. Nothing is stored or published."""
    cases.check_case(body, by=who, region=ctx.region, now=ctx.clock())
    return Response(status_code=204)


@router.get("/cases/{case_id}", response_model=CaseOut, tags=["cases"])
async def read_case(case_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> CaseOut:
    """A case with the referral statuses intake has seen (recorded in the audit trail)."""
    async with ctx.sessions() as session:
        case = await cases.get_case(session, case_id=case_id, by=who, keyring=ctx.keyring)
        out = await _case_out(session, case, ctx.region)
        await trail.record(session, Action.CASE_READ, case_reference=case.reference, commit=True)
        return out


@router.get("/cases", response_model=CasePage, tags=["cases"])
async def list_cases(
    who: Who,
    ctx: Ctx,
    trail: Audit,
    kelurahan: Annotated[str | None, Query(max_length=20)] = None,
    status: Literal["open", "closed"] | None = None,
    risk: RiskLevel | None = None,
    reported_from: Annotated[dt.date | None, Query(alias="from")] = None,
    reported_to: Annotated[dt.date | None, Query(alias="to")] = None,
    sensitive: bool | None = None,
    override: Literal["pending", "confirmed"] | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CasePage:
    """Cases the caller may see (an officer: their kelurahan), newest report first. A line the
    caller may not open (need to know: another officer's case) says `restricted`; no line
    carries a name. `override=pending`: consent overrides waiting for the coordinator."""
    filters = cases.CaseFilter(
        kelurahan, status, risk, reported_from, reported_to, sensitive, override
    )
    async with ctx.sessions() as session:
        found, total = await cases.list_cases(
            session, by=who, region=ctx.region, filters=filters, page=page, per_page=per_page
        )
        hidden = await assignments.restricted(session, found, by=who)
        await trail.record(session, Action.CASE_LIST, commit=True)
    zone = rules.local_zone(ctx.region)
    items = [
        CaseSummary.model_validate(c).model_copy(
            update={
                "reported_at": c.reported_at.astimezone(zone),
                "updated_at": c.updated_at.astimezone(zone),
                "restricted": c.id in hidden,
                "erased_at": c.erased_at.astimezone(zone) if c.erased_at else None,
            }
        )
        for c in found
    ]
    return CasePage(items=items, total=total, page=page, per_page=per_page)


@router.patch("/cases/{case_id}", response_model=CaseOut, tags=["cases"])
async def update_case(
    case_id: uuid.UUID, body: CasePatch, who: Who, ctx: Ctx, trail: Audit
) -> CaseOut:
    """Add needs, change the risk level, the consent or the legal-aid proof."""
    change = functools.partial(cases.update_case, case_id=case_id, patch=body)
    return await _changed(ctx, change, by=who, trail=trail)


@router.post("/cases/{case_id}/close", response_model=CaseOut, tags=["cases"])
async def close_case(
    case_id: uuid.UUID, body: CloseIn, who: Who, ctx: Ctx, trail: Audit
) -> CaseOut:
    """Close a case with its outcome; its open referrals are cancelled by referral."""
    change = functools.partial(cases.close_case, case_id=case_id, data=body)
    return await _changed(ctx, change, by=who, trail=trail)


@router.post("/cases/{case_id}/assign", response_model=CaseOut, tags=["cases"])
async def assign_case(
    case_id: uuid.UUID, body: AssignIn, who: Who, ctx: Ctx, trail: Audit
) -> CaseOut:
    """Assign an officer of the case's kelurahan to the case (the coordinator only): they see
    it in full from now on, as its recorder does."""
    async with ctx.sessions() as session:
        async with session.begin():
            case = await cases.get_case(
                session, case_id=case_id, by=who, keyring=ctx.keyring, lock=True
            )
            await assignments.assign_officer(
                session, case=case, officer_id=body.officer_id, by=who, now=ctx.clock()
            )
            await trail.record(
                session,
                Action.CASE_ASSIGN,
                case_reference=case.reference,
                subject_id=body.officer_id,
            )
        return await _case_out(session, case, ctx.region)


@router.get("/cases/{case_id}/officers", response_model=list[OfficerOut], tags=["cases"])
async def assignable_officers(
    case_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> list[OfficerOut]:
    """The active officers of the case's kelurahan, whom the coordinator may assign to it (the
    coordinator only; names of officers, no case data)."""
    require_role(who, PersonRole.COORDINATOR)
    async with ctx.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseNotFound()
        found = await users.officers_of(session, kelurahan_code=case.kelurahan_code)
        await trail.record(session, Action.USER_LIST, case_reference=case.reference, commit=True)
        return [OfficerOut.model_validate(u) for u in found]


@router.post("/cases/{case_id}/override/confirm", response_model=CaseOut, tags=["cases"])
async def confirm_override(case_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> CaseOut:
    """Confirm a consent override (the coordinator only, and not one they recorded): until
    then the case waits and no referral is made; on confirmation it is routed."""
    change = functools.partial(cases.confirm_override, case_id=case_id)
    return await _changed(ctx, change, by=who, trail=trail)


@router.get("/board", response_model=BoardOut, tags=["cases"])
async def coordinator_board(
    who: Who, ctx: Ctx, kelurahan: Annotated[str | None, Query(max_length=20)] = None
) -> BoardOut:
    """The coordinator's board (the coordinator only): referrals not accepted in time, needs no
    partner could take, legal aid waiting for proof, high-risk cases not yet accepted; open
    cases only, each section oldest first."""
    now = ctx.clock()
    async with ctx.sessions() as session:
        await read_only(session)
        found = await board.board(session, by=who, now=now, kelurahan_code=kelurahan)
    zone = rules.local_zone(ctx.region)

    def case_of(c: Case) -> BoardCase:
        k = ctx.region.kelurahan_by_code(c.kelurahan_code)
        return BoardCase(
            id=c.id,
            reference=c.reference,
            kelurahan=KelurahanOut(code=c.kelurahan_code, name=k.name if k else c.kelurahan_code),
            risk_level=RiskLevel(c.risk_level),
            reported_at=c.reported_at.astimezone(zone),
        )

    def referral_of(v: ReferralView) -> ReferralOut:
        return ReferralOut.model_validate(v).model_copy(
            update={
                "accept_by": v.accept_by.astimezone(zone) if v.accept_by else None,
                "updated_at": v.updated_at.astimezone(zone),
            }
        )

    return BoardOut(
        as_of=now.astimezone(zone),
        late=[BoardReferral(case=case_of(c), referral=referral_of(v)) for c, v in found.late],
        unmet=[
            BoardUnmet(
                case=case_of(c),
                need=UnmetNeedOut.model_validate(u).model_copy(
                    update={"occurred_at": u.occurred_at.astimezone(zone)}
                ),
            )
            for c, u in found.unmet
        ],
        eligibility_pending=[
            BoardReferral(case=case_of(c), referral=referral_of(v))
            for c, v in found.eligibility_pending
        ],
        high_risk_unaccepted=[
            BoardHighRisk(case=case_of(c), referrals=[referral_of(v) for v in views])
            for c, views in found.high_risk_unaccepted
        ],
    )


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(user)


def _local(ctx: Context, when: dt.datetime) -> dt.datetime:
    return when.astimezone(rules.local_zone(ctx.region))


@router.post("/users", status_code=201, response_model=UserCreated, tags=["users"])
async def create_user(
    body: UserIn, who: Who, ctx: Ctx, response: Response, trail: Audit
) -> UserCreated:
    """Create a user (admin only). The API token and the one-time setup code are in this
    answer and nowhere else; the person sets a password with the code (`/auth/setup`)."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session, session.begin():
        created = await users.create_user(
            session,
            data=body,
            region=ctx.region,
            now=ctx.clock(),
            setup_code_lifetime=ctx.policy.setup_code_lifetime,
            token_lifetime=ctx.policy.api_token_lifetime,
        )
        await trail.record(session, Action.USER_CREATE, subject_id=created.user.id)
    response.headers["Location"] = f"/api/v1/users/{created.user.id}"
    return UserCreated(
        **_user_out(created.user).model_dump(),
        token=created.token,
        setup_code=created.setup_code,
        setup_expires_at=_local(ctx, created.user.setup_expires_at)
        if created.user.setup_expires_at
        else None,
    )


@router.get("/users", response_model=list[UserOut], tags=["users"])
async def list_users(who: Who, ctx: Ctx, trail: Audit) -> list[UserOut]:
    """Every user (admin only); tokens and codes are never shown again."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session:
        found = [_user_out(u) for u in await users.list_users(session)]
        await trail.record(session, Action.USER_LIST, commit=True)
        return found


@router.post("/users/{user_id}/setup-code", response_model=SetupCodeOut, tags=["users"])
async def new_setup_code(
    user_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit, body: SetupCodeIn | None = None
) -> SetupCodeOut:
    """A new one-time setup code (admin only), e.g. for a forgotten password: the previous code
    stops working and a lock after failed sign-ins is lifted. `login` gives the user a login."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session, session.begin():
        user, code = await users.new_setup_code(
            session,
            user_id=user_id,
            login=body.login if body else None,
            now=ctx.clock(),
            lifetime=ctx.policy.setup_code_lifetime,
        )
        await trail.record(session, Action.USER_SETUP_CODE, subject_id=user.id)
    assert user.login is not None  # new_setup_code refuses a user without one
    assert user.setup_expires_at is not None
    return SetupCodeOut(
        id=user.id,
        login=user.login,
        setup_code=code,
        setup_expires_at=_local(ctx, user.setup_expires_at),
    )


@router.post("/users/{user_id}/token", response_model=TokenIssued, tags=["users"])
async def issue_token(user_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> TokenIssued:
    """A new API token for a user (admin only), shown once and valid for
    INTAKE_API_TOKEN_LIFETIME_DAYS; the previous one stops working now."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session, session.begin():
        user, token = await users.issue_token(
            session, user_id=user_id, now=ctx.clock(), lifetime=ctx.policy.api_token_lifetime
        )
        await trail.record(session, Action.USER_TOKEN, subject_id=user.id)
    assert user.token_expires_at is not None
    return TokenIssued(id=user.id, token=token, token_expires_at=_local(ctx, user.token_expires_at))


@router.post("/users/{user_id}/token/revoke", response_model=UserOut, tags=["users"])
async def revoke_token(user_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> UserOut:
    """Revoke a user's API token (admin only): it answers 401 from now on. Signing in and the
    person's sessions are not touched (deactivate the user for that)."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session, session.begin():
        user = await users.revoke_token(session, user_id=user_id, now=ctx.clock())
        await trail.record(session, Action.USER_REVOKE, subject_id=user.id)
        return _user_out(user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, tags=["users"])
async def deactivate_user(user_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> UserOut:
    """Deactivate a user (admin only): no more sign-in, refresh or API token; their sessions
    end now (an access token already issued lives out its seconds: under a minute)."""
    require_role(who, PersonRole.ADMIN)
    async with ctx.sessions() as session, session.begin():
        user = await users.deactivate_user(session, user_id=user_id, now=ctx.clock())
        await trail.record(session, Action.USER_DEACTIVATE, subject_id=user.id)
        return _user_out(user)


# --- people signing in (the web app calls these for them) -------------------------------------


def _signed_in(ctx: Context, signed: accounts.Signed) -> SignedIn:
    p = signed.person
    return SignedIn(
        access_token=signed.access_token,
        expires_in=signed.expires_in,
        refresh_token=signed.refresh_token,
        session_expires_at=_local(ctx, signed.session_expires_at),
        person=PersonOut(
            id=p.id,
            name=p.name,
            role=p.role,
            kelurahan_code=p.kelurahan_code,
            partner_slug=p.partner_slug,
        ),
    )


@router.post("/auth/setup", status_code=204, tags=["auth"])
async def set_up_password(body: SetupIn, ctx: Ctx) -> Response:
    """Set one's password with the one-time code from the admin (at least 10 characters, not
    the login); the code is then used up. A wrong or expired code answers 401 like sign-in."""
    async with ctx.sessions() as session:
        await accounts.set_up_password(
            session,
            login=body.login,
            code=body.code,
            password=body.password,
            passwords=ctx.passwords,
            policy=ctx.policy,
            now=ctx.clock(),
        )
    return Response(status_code=204)


@router.post("/auth/sign-in", response_model=SignedIn, tags=["auth"])
async def sign_in(body: SignInIn, ctx: Ctx) -> SignedIn:
    """Sign in: an access token for every service and a refresh token for the session. Every
    failure is the same 401; an account is locked for a while after repeated failures."""
    async with ctx.sessions() as session:
        signed = await accounts.sign_in(
            session,
            login=body.login,
            password=body.password,
            passwords=ctx.passwords,
            policy=ctx.policy,
            now=ctx.clock(),
        )
    return _signed_in(ctx, signed)


@router.post("/auth/refresh", response_model=SignedIn, tags=["auth"])
async def refresh(body: RefreshIn, ctx: Ctx) -> SignedIn:
    """A new access token and a new refresh token (the one sent stops working), while the
    session lives: not signed out, not idle too long, not past its end, person active."""
    async with ctx.sessions() as session:
        signed = await accounts.refresh(
            session, refresh_token=body.refresh_token, policy=ctx.policy, now=ctx.clock()
        )
    return _signed_in(ctx, signed)


@router.post("/auth/sign-out", status_code=204, tags=["auth"])
async def sign_out(body: RefreshIn, ctx: Ctx) -> Response:
    """End the session of a refresh token (the same answer for an unknown one)."""
    async with ctx.sessions() as session, session.begin():
        await accounts.sign_out(session, refresh_token=body.refresh_token, now=ctx.clock())
    return Response(status_code=204)
