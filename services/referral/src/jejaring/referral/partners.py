"""Partners: seeding, registration, tokens and NATS keys, and what each one holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.errors import (
    NatsKeyExists,
    NatsKeyNotFound,
    PartnerExists,
    PartnerInactive,
    PartnerNotFound,
    UnknownKelurahan,
)
from jejaring.referral.facts import log
from jejaring.referral.models import Partner, PartnerNatsKey, Referral
from jejaring.referral.schemas import PartnerIn
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.region import Region
from jejaring.shared.web.tokens import new_token, token_hash


def read_partner_file(path: Path) -> list[PartnerIn]:
    """Partners described in a JSON seed file."""
    return TypeAdapter(list[PartnerIn]).validate_json(path.read_bytes())


def _new_partner(data: PartnerIn, *, now: dt.datetime, token: str | None) -> Partner:
    return Partner(
        slug=data.slug,
        name=data.name,
        kind=data.kind.value,
        services=[s.value for s in data.services],
        kelurahan=list(data.kelurahan),
        contacts=[c.model_dump(mode="json", exclude_none=True) for c in data.contacts],
        deadlines=data.deadlines.model_dump(),
        token_hash=token_hash(token) if token else None,
        active=data.active,
        created_at=now,
    )


async def seed_partners(session: AsyncSession, *, partners: Sequence[PartnerIn]) -> list[str]:
    """Add the partners that are not registered yet; return the slugs added.

    Seeded partners get no API token; an admin issues one (`jejaring partner token`).
    """
    existing = set((await session.scalars(select(Partner.slug))).all())
    now = dt.datetime.now(dt.UTC)
    added = [p.slug for p in partners if p.slug not in existing]
    for p in partners:
        if p.slug in added:
            session.add(_new_partner(p, now=now, token=None))
    if added:
        log.info("partners seeded", extra={"partners": added})
    return added


async def add_partner(
    session: AsyncSession, *, data: PartnerIn, region: Region, now: dt.datetime
) -> tuple[Partner, str]:
    """Register a partner; return it with its API token (shown once)."""
    unknown = [k for k in data.kelurahan if region.kelurahan_by_code(k) is None]
    if unknown:
        raise UnknownKelurahan(unknown)
    if await session.get(Partner, data.slug) is not None:
        raise PartnerExists(data.slug)
    token = new_token()
    partner = _new_partner(data, now=now, token=token)
    session.add(partner)
    await session.flush()
    log.info("partner added", extra={"partner": data.slug, "kind": data.kind.value})
    return partner, token


async def register_partner(
    session: AsyncSession,
    *,
    data: PartnerIn,
    region: Region,
    now: dt.datetime,
    provision_stream: Callable[[str], Awaitable[None]],
) -> tuple[Partner, str]:
    """`add_partner` at run time: a new partner's stream and consumer are made first, so a
    partner is never registered without somewhere to send to."""
    if await session.get(Partner, data.slug) is None:
        await provision_stream(data.slug)
    return await add_partner(session, data=data, region=region, now=now)


async def get_partner(session: AsyncSession, *, slug: str, lock: bool = False) -> Partner:
    partner = await session.get(Partner, slug, with_for_update=lock)
    if partner is None:
        raise PartnerNotFound()
    return partner


async def deactivate_partner(
    session: AsyncSession, *, slug: str, outbox: Outbox, now: dt.datetime
) -> Partner:
    """No new referrals go to the partner, and its HTTP token and staff stop working at once
    (401); its open referrals stay in the database, visible to the admin. The other services
    learn it from `referral.v1.event.partner_deactivated` (once, the first time)."""
    partner = await get_partner(session, slug=slug, lock=True)
    if partner.active:
        await outbox.add(
            session, ev.PartnerDeactivated(partner_slug=slug, deactivated_at=now), time=now
        )
    partner.active = False
    log.info("partner deactivated", extra={"partner": slug})
    return partner


async def issue_token(
    session: AsyncSession, *, slug: str, now: dt.datetime, grace: dt.timedelta, revoke_old: bool
) -> tuple[Partner, str]:
    """A new API token for the partner (shown once). The one it replaces keeps working for
    `grace`, so the partner's system can switch without downtime, unless `revoke_old`: then it
    stops now. Only one previous token is kept: a token older than that stops now too."""
    partner = await get_partner(session, slug=slug, lock=True)
    token = new_token()
    keep = partner.token_hash is not None and not revoke_old and grace > dt.timedelta(0)
    partner.previous_token_hash = partner.token_hash if keep else None
    partner.previous_token_until = now + grace if keep else None
    partner.token_hash = token_hash(token)
    log.info("partner token issued", extra={"partner": slug, "previous_kept": keep})
    return partner, token


async def register_nats_key(
    session: AsyncSession,
    *,
    slug: str,
    public_key: str,
    now: dt.datetime,
    expires_days: int,
    rotate: bool,
    grace_days: int,
) -> PartnerNatsKey:
    """Register a partner's NKey public key. Its other valid keys are revoked now, or with
    `rotate` stay valid `grace_days` more (at most), so the partner switches with no gap."""
    if not (await get_partner(session, slug=slug, lock=True)).active:
        raise PartnerInactive()
    if await session.get(PartnerNatsKey, public_key) is not None:
        raise NatsKeyExists()
    for old in await valid_nats_keys(session, slug=slug, now=now):
        if rotate:
            old.expires_at = min(old.expires_at, now + dt.timedelta(days=grace_days))
        else:
            old.revoked_at = now
    key = PartnerNatsKey(
        public_key=public_key,
        partner_slug=slug,
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_days),
    )
    session.add(key)
    await session.flush()
    log.info("partner NATS key registered", extra={"partner": slug, "rotate": rotate})
    return key


async def valid_nats_keys(
    session: AsyncSession, *, slug: str, now: dt.datetime
) -> list[PartnerNatsKey]:
    """A partner's keys neither expired nor revoked, newest first."""
    rows = await session.scalars(
        select(PartnerNatsKey)
        .where(
            PartnerNatsKey.partner_slug == slug,
            PartnerNatsKey.revoked_at.is_(None),
            PartnerNatsKey.expires_at > now,
        )
        .order_by(PartnerNatsKey.created_at.desc(), PartnerNatsKey.public_key)
    )
    return list(rows.all())


async def nats_keys(session: AsyncSession, *, slug: str) -> list[PartnerNatsKey]:
    """Every key a partner was given, newest first."""
    await get_partner(session, slug=slug)
    rows = await session.scalars(
        select(PartnerNatsKey)
        .where(PartnerNatsKey.partner_slug == slug)
        .order_by(PartnerNatsKey.created_at.desc(), PartnerNatsKey.public_key)
    )
    return list(rows.all())


async def revoke_nats_keys(
    session: AsyncSession, *, slug: str, public_key: str | None, now: dt.datetime
) -> list[PartnerNatsKey]:
    """Revoke one key of the partner, or (none given) every valid key but the newest: the end
    of a rotation. Returns the keys revoked."""
    await get_partner(session, slug=slug, lock=True)
    valid = await valid_nats_keys(session, slug=slug, now=now)
    if public_key is None:
        revoked = valid[1:]
    else:
        revoked = [k for k in valid if k.public_key == public_key]
        if not revoked:
            raise NatsKeyNotFound()
    for key in revoked:
        key.revoked_at = now
    log.info("partner NATS keys revoked", extra={"partner": slug, "keys": len(revoked)})
    return revoked


async def nats_keys_in_force(session: AsyncSession, *, now: dt.datetime) -> list[PartnerNatsKey]:
    """The keys the NATS server may accept now: valid, of active partners."""
    rows = await session.scalars(
        select(PartnerNatsKey)
        .join(Partner, Partner.slug == PartnerNatsKey.partner_slug)
        .where(
            Partner.active.is_(True),
            PartnerNatsKey.revoked_at.is_(None),
            PartnerNatsKey.expires_at > now,
        )
        .order_by(PartnerNatsKey.partner_slug, PartnerNatsKey.public_key)
    )
    return list(rows.all())


class TokenExpired(Exception):
    """The token was the partner's previous one, and its grace is over."""


async def partner_by_token(
    session: AsyncSession, *, token: str, now: dt.datetime
) -> Partner | None:
    """The active partner whose current token, or previous one within its grace, is `token`;
    None for an unknown token or a deactivated partner (its HTTP access ends at once);
    TokenExpired for a previous token past its grace."""
    hashed = token_hash(token)
    found: Partner | None = await session.scalar(
        select(Partner).where(
            or_(Partner.token_hash == hashed, Partner.previous_token_hash == hashed)
        )
    )
    if found is None or not found.active:
        return None
    if found.token_hash != hashed and (
        found.previous_token_until is None or found.previous_token_until <= now
    ):
        raise TokenExpired()
    return found


async def partner_is_active(session: AsyncSession, *, slug: str) -> bool:
    """Whether `slug` is a registered, active partner."""
    return bool(await session.scalar(select(Partner.active).where(Partner.slug == slug)))


async def list_partners(session: AsyncSession) -> list[Partner]:
    rows = await session.scalars(select(Partner).order_by(Partner.created_at, Partner.slug))
    return list(rows.all())


async def partner_slugs(session: AsyncSession) -> list[str]:
    """Every registered partner, active or not (a deactivated one keeps its stream)."""
    return list((await session.scalars(select(Partner.slug).order_by(Partner.slug))).all())


async def partner_referrals(
    session: AsyncSession, *, slug: str, status: ReferralStatus | None = None
) -> list[Referral]:
    """A registered partner's referrals, newest first (at most 500)."""
    await get_partner(session, slug=slug)
    query = select(Referral).where(Referral.partner_slug == slug)
    if status is not None:
        query = query.where(Referral.status == status.value)
    rows = await session.scalars(query.order_by(Referral.requested_at.desc()).limit(500))
    return list(rows.all())
