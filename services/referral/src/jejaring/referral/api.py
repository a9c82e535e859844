"""Referral's HTTP API: partner administration, and replies for partners without a system."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.referral import audit, directory, partners, policy, replies
from jejaring.referral.audit import Action
from jejaring.referral.errors import AdminOnly, HolderOnly, OwnReferralsOnly
from jejaring.referral.facts import Deps
from jejaring.referral.models import Partner, Referral
from jejaring.referral.schemas import (
    ContactIn,
    Deadlines,
    NatsKeyIn,
    NatsKeyOut,
    NatsKeyRevokeIn,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    ReferralOut,
    StatusIn,
    TokenIn,
    TokenIssued,
)
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.contract import subjects
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.db import read_only
from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.shared.messaging.provision import agency_consumer_spec, agency_stream_spec
from jejaring.shared.messaging.runtime import NotProvisioned, ServiceRuntime
from jejaring.shared.web.errors import api_error, token_expired, unauthorized
from jejaring.shared.web.identity import Person, PersonRole
from jejaring.shared.web.people import person_of
from jejaring.shared.web.tokens import bearer_token, same_token

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Context:
    settings: ReferralSettings
    deps: Deps
    runtime: ServiceRuntime
    clock: Clock
    asyncapi: Callable[[], dict[str, Any]]

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessions


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.referral
    return ctx


Ctx = Annotated[Context, Depends(context)]
Authorization = Annotated[str | None, Header(include_in_schema=False)]


@dataclass(frozen=True)
class Caller:
    """The admin, or one partner (by its token, or a person on its staff), or a person with
    none of those roles (who may do nothing here)."""

    admin: bool
    partner: str | None = None
    person: Person | None = None


def person_caller(person: Person) -> Caller:
    """An admin person acts as the admin, partner staff as their partner."""
    if person.role == PersonRole.ADMIN:
        return Caller(admin=True, person=person)
    if person.role == PersonRole.PARTNER_STAFF:
        return Caller(admin=False, partner=person.partner_slug, person=person)
    return Caller(admin=False, person=person)


async def caller(ctx: Ctx, authorization: Authorization = None) -> Caller:
    """Who asks; 401 for an unknown token, a deactivated partner's token or staff, and a
    partner's previous token once its grace is over (`token_expired`)."""
    if person := person_of(authorization, settings=ctx.settings, clock=ctx.clock):
        who = person_caller(person)
        if who.partner is not None:
            async with ctx.sessions() as session:
                await read_only(session)
                if not await partners.partner_is_active(session, slug=who.partner):
                    raise unauthorized()
        return who
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized()
    admin = ctx.settings.admin_token.get_secret_value() if ctx.settings.admin_token else None
    if same_token(token, admin):
        return Caller(admin=True)
    async with ctx.sessions() as session:
        await read_only(session)
        try:
            partner = await partners.partner_by_token(session, token=token, now=ctx.clock())
        except partners.TokenExpired:
            raise token_expired() from None
    if partner is None:
        raise unauthorized()
    return Caller(admin=False, partner=partner.slug)


Who = Annotated[Caller, Depends(caller)]


async def trail(who: Who, ctx: Ctx, request: Request) -> audit.Trail:
    """Who acts and from where, for the audit trail: a person by their id and role, a token by
    whose it is (the client's address as uvicorn sees it: a proxy's X-Forwarded-For is taken
    only from REFERRAL_FORWARDED_ALLOW_IPS)."""
    if who.person is not None:
        user_id, role = who.person.id, who.person.role.value
    else:
        user_id = audit.TOKEN_ID
        role = audit.ADMIN_TOKEN_ROLE if who.admin else audit.PARTNER_TOKEN_ROLE
    client = request.client.host if request.client else None
    return audit.Trail(user_id=user_id, role=role, client=client, clock=ctx.clock)


Audit = Annotated[audit.Trail, Depends(trail)]


def require_admin(who: Caller) -> None:
    if not who.admin:
        raise AdminOnly()


def partner_out(p: Partner) -> PartnerOut:
    return PartnerOut(
        slug=p.slug,
        name=p.name,
        kind=p.kind,
        services=p.services,
        kelurahan=p.kelurahan,
        contacts=[ContactIn.model_validate(c) for c in p.contacts],
        deadlines=Deadlines.model_validate(p.deadlines),
        active=p.active,
        stream=subjects.agency_stream(p.slug),
        created_at=p.created_at,
    )


def referral_out(r: Referral) -> ReferralOut:
    """A referral with the answers its partner may give next."""
    out = ReferralOut.model_validate(r)
    return out.model_copy(
        update={"allowed_answers": policy.allowed_next(out.status, by_partner=True)}
    )


router = APIRouter(prefix="/api/v1")


@router.post("/partners", status_code=201, response_model=PartnerCreated, tags=["partners"])
async def add_partner(
    body: PartnerIn, who: Who, ctx: Ctx, trail: Audit, response: Response
) -> PartnerCreated:
    """Register a partner (admin): its own stream and consumer are created at once, it is
    connected to every kelurahan it covers, and the next case can be referred to it."""
    require_admin(who)
    runtime = ctx.runtime
    if runtime.js is None or runtime.nc is None or not runtime.nc.is_connected:
        raise api_error(
            503,
            "nats",
            "nats_unavailable",
            "NATS tidak terhubung; aliran mitra belum dapat dibuat. Coba lagi sebentar.",
            "NATS is not connected; the partner's stream cannot be created yet. Try again shortly.",
        )

    async def provision_stream(slug: str) -> None:
        try:
            await runtime.provision(
                [agency_stream_spec(slug, ctx.settings.stream_replicas)],
                [agency_consumer_spec(slug)],
            )
        except NotProvisioned as exc:
            raise api_error(
                503,
                "nats",
                "nats_not_permitted",
                "NATS menolak membuat aliran mitra; jalankan `jejaring provision` lalu coba lagi.",
                f"NATS refused to create the partner's stream ({exc.what}); check the NATS "
                "authorization (`jejaring nats-config`) and try again.",
            ) from None

    async with ctx.sessions() as session, session.begin():
        partner, token = await partners.register_partner(
            session,
            data=body,
            region=ctx.deps.region,
            now=ctx.clock(),
            provision_stream=provision_stream,
        )
        await trail.record(session, Action.PARTNER_ADD, partner=partner.slug)
    response.headers["Location"] = f"/api/v1/partners/{partner.slug}"
    return PartnerCreated(**partner_out(partner).model_dump(), token=token)


@router.get("/partners", response_model=list[PartnerOut], tags=["partners"])
async def list_partners(who: Who, ctx: Ctx) -> list[PartnerOut]:
    """Every partner, active or not (admin)."""
    require_admin(who)
    async with ctx.sessions() as session:
        return [partner_out(p) for p in await partners.list_partners(session)]


@router.post("/partners/{slug}/deactivate", response_model=PartnerOut, tags=["partners"])
async def deactivate_partner(slug: str, who: Who, ctx: Ctx, trail: Audit) -> PartnerOut:
    """Stop new referrals to a partner (admin); its HTTP token and its staff's access stop at
    once (401), and `referral.v1.event.partner_deactivated` tells the other services (intake
    stops giving its staff documents)."""
    require_admin(who)
    async with ctx.sessions() as session, session.begin():
        partner = await partners.deactivate_partner(
            session, slug=slug, outbox=ctx.deps.outbox, now=ctx.clock()
        )
        await trail.record(session, Action.PARTNER_DEACTIVATE, partner=slug)
        return partner_out(partner)


@router.post("/partners/{slug}/token", response_model=TokenIssued, tags=["partners"])
async def issue_token(
    slug: str, who: Who, ctx: Ctx, trail: Audit, body: TokenIn | None = None
) -> TokenIssued:
    """Issue a new API token for a partner (admin), shown once. The previous one keeps working
    for REFERRAL_PARTNER_TOKEN_GRACE_S (default 24 h) so the partner can switch without
    downtime, unless `revoke_old`: then it stops now."""
    require_admin(who)
    async with ctx.sessions() as session, session.begin():
        had_one = (await partners.get_partner(session, slug=slug, lock=True)).token_hash
        partner, token = await partners.issue_token(
            session,
            slug=slug,
            now=ctx.clock(),
            grace=dt.timedelta(seconds=ctx.settings.partner_token_grace_s),
            revoke_old=body.revoke_old if body else False,
        )
        if partner.previous_token_hash is not None:
            action = Action.TOKEN_ROTATE  # the previous one works until the grace ends
        else:
            action = Action.TOKEN_ISSUE if had_one is None else Action.TOKEN_REVOKE
        await trail.record(session, action, partner=slug)
    return TokenIssued(
        slug=partner.slug, token=token, previous_valid_until=partner.previous_token_until
    )


@router.post("/partners/{slug}/nats-keys", status_code=201, tags=["partners"])
async def register_nats_key(
    slug: str, body: NatsKeyIn, who: Who, ctx: Ctx, trail: Audit
) -> dict[str, Any]:
    """Register a partner's NKey public key (admin). The key pair is made where the partner's
    seed is kept (`jejaring partner credentials`); Jejaring never sees the seed. The key is
    accepted by NATS once the configuration is regenerated (within a minute)."""
    require_admin(who)
    async with ctx.sessions() as session, session.begin():
        key = await partners.register_nats_key(
            session,
            slug=slug,
            public_key=body.public_key,
            now=ctx.clock(),
            expires_days=body.expires_days,
            rotate=body.rotate,
            grace_days=body.grace_days,
        )
        await trail.record(session, Action.NATS_KEY_ADD, partner=slug)
        others = await partners.valid_nats_keys(session, slug=slug, now=ctx.clock())
    return {
        **NatsKeyOut.model_validate(key).model_dump(mode="json"),
        "still_valid": [
            NatsKeyOut.model_validate(k).model_dump(mode="json")
            for k in others
            if k.public_key != key.public_key
        ],
        "inbox_prefix": inbox_prefix(slug),
        "stream": subjects.agency_stream(slug),
        "consumer": slug,
        "publish": subjects.replies_of(slug),
    }


@router.get("/partners/{slug}/nats-keys", response_model=list[NatsKeyOut], tags=["partners"])
async def list_nats_keys(slug: str, who: Who, ctx: Ctx) -> list[NatsKeyOut]:
    """Every NATS key a partner was given, newest first (admin)."""
    require_admin(who)
    async with ctx.sessions() as session:
        return [NatsKeyOut.model_validate(k) for k in await partners.nats_keys(session, slug=slug)]


@router.post(
    "/partners/{slug}/nats-keys/revoke", response_model=list[NatsKeyOut], tags=["partners"]
)
async def revoke_nats_keys(
    slug: str, body: NatsKeyRevokeIn, who: Who, ctx: Ctx, trail: Audit
) -> list[NatsKeyOut]:
    """Revoke one of a partner's NATS keys, or every one but the newest (admin); NATS refuses
    it within a minute."""
    require_admin(who)
    async with ctx.sessions() as session, session.begin():
        revoked = await partners.revoke_nats_keys(
            session, slug=slug, public_key=body.public_key, now=ctx.clock()
        )
        await trail.record(session, Action.NATS_KEY_REVOKE, partner=slug)
        return [NatsKeyOut.model_validate(k) for k in revoked]


@router.get("/nats/partner-keys", tags=["partners"])
async def nats_partner_keys(who: Who, ctx: Ctx) -> list[dict[str, str]]:
    """The partner keys NATS may accept now (valid, of active partners), for generating the
    server configuration."""
    require_admin(who)
    async with ctx.sessions() as session:
        await read_only(session)
        return [
            {
                "slug": k.partner_slug,
                "public_key": k.public_key,
                "expires_at": k.expires_at.isoformat(),
            }
            for k in await partners.nats_keys_in_force(session, now=ctx.clock())
        ]


@router.get("/partners/{slug}/referrals", response_model=list[ReferralOut], tags=["referrals"])
async def partner_referrals(
    slug: str, who: Who, ctx: Ctx, status: ReferralStatus | None = None
) -> list[ReferralOut]:
    """A partner's referrals, newest first (that partner, or the admin)."""
    if not who.admin and who.partner != slug:
        raise OwnReferralsOnly()
    async with ctx.sessions() as session:
        rows = await partners.partner_referrals(session, slug=slug, status=status)
        return [referral_out(r) for r in rows]


@router.post("/referrals/{referral_id}/status", response_model=ReferralOut, tags=["referrals"])
async def answer_referral(
    referral_id: uuid.UUID, body: StatusIn, who: Who, ctx: Ctx, trail: Audit
) -> ReferralOut:
    """A partner accepts, rejects or reports progress on one of its referrals; answered with a
    person's token, the answer records who gave it (`answered_by`). Each answer is one record
    of the audit trail (without its reason or note)."""
    if who.partner is None:
        raise HolderOnly()
    async with ctx.sessions() as session, session.begin():
        r = await replies.apply_reply(
            session,
            referral=referral_id,
            slug=who.partner,
            status=body.status,
            reason=body.reason,
            reason_code=body.reason_code,
            note=body.note,
            deps=ctx.deps,
            now=ctx.clock(),
            by=who.person.name if who.person is not None else None,
        )
        await trail.record(
            session,
            audit.answered(body.status),
            partner=who.partner,
            case_reference=r.case_reference,
            subject_id=r.id,
        )
        return referral_out(r)


@router.get("/directory/hsds.json", tags=["directory"])
async def partner_directory(who: Who, ctx: Ctx) -> JSONResponse:
    """The partner directory as Open Referral HSDS 3.0 (organizations, services, service areas,
    public contacts) for the city's other directories; `jejaring directory --out DIR` writes it
    as the HSDS tabular package. Anyone Jejaring knows may read it (the admin, a partner, any
    person signed in): it is meant to be published, yet it is served only to them, not to the
    internet; it is exported by the admin. Never stored by a cache (no-store)."""
    del who  # any caller the `Who` dependency let through
    async with ctx.sessions() as session:
        await read_only(session)
        doc = await directory.directory(session, region=ctx.deps.region, now=ctx.clock())
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


docs_router = APIRouter()


@docs_router.get("/docs/asyncapi", tags=["docs"])
async def asyncapi(ctx: Ctx) -> JSONResponse:
    """The partner's view of the contract, as an AsyncAPI 3.0 document (made by FastStream)."""
    return JSONResponse(ctx.asyncapi())
