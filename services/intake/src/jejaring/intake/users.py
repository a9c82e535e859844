"""Users of intake: officers bound to a kelurahan, the coordinator, admins, and partner staff
bound to a partner; with their API tokens, logins and one-time setup codes."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import accounts, rules
from jejaring.intake.errors import (
    LoginRequired,
    LoginTaken,
    OfficerNeedsKelurahan,
    OnlyOfficersHaveKelurahan,
    OnlyPartnerStaffHavePartner,
    PartnerStaffNeedsPartner,
    UserDeactivated,
    UserNotFound,
)
from jejaring.intake.models import User
from jejaring.intake.schemas import UserIn
from jejaring.shared.contract.subjects import SLUG_RE
from jejaring.shared.refusals import FieldError, Invalid
from jejaring.shared.region import Region
from jejaring.shared.web.identity import PersonRole
from jejaring.shared.web.tokens import new_token, token_hash

log = logging.getLogger(__name__)

PARTNER_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}$")


@dataclass(frozen=True)
class NewUser:
    """A user just created, with what is shown once: the API token and the setup code."""

    user: User
    token: str
    setup_code: str | None


def _check_binding(data: UserIn, region: Region) -> None:
    """Officers are bound to a kelurahan, partner staff to a partner, nobody else to either."""
    if data.role == PersonRole.OFFICER:
        if data.kelurahan_code is None:
            raise OfficerNeedsKelurahan()
        if errors := rules.check_kelurahan(data.kelurahan_code, region):
            raise Invalid(*errors)
    elif data.kelurahan_code is not None:
        raise OnlyOfficersHaveKelurahan()
    if data.role == PersonRole.PARTNER_STAFF:
        if data.partner_slug is None:
            raise PartnerStaffNeedsPartner()
        # Only the format: the partners live in referral, which intake does not ask.
        if not (PARTNER_SLUG.fullmatch(data.partner_slug) and SLUG_RE.fullmatch(data.partner_slug)):
            raise Invalid(
                FieldError(
                    "partner_slug",
                    "partner_slug_format",
                    "Slug mitra: 2-39 huruf kecil, angka atau '-', diawali dan diakhiri huruf "
                    "atau angka (mis. posbakum-aisyiyah).",
                    "A partner slug is 2-39 lowercase letters, digits or '-', starting and "
                    "ending with a letter or digit (e.g. posbakum-aisyiyah).",
                )
            )
    elif data.partner_slug is not None:
        raise OnlyPartnerStaffHavePartner()


async def _login_free(session: AsyncSession, login: str, *, but: uuid.UUID | None = None) -> bool:
    query = select(User.id).where(User.login == login)
    holder = await session.scalar(query)
    return holder is None or holder == but


async def _flush_login(session: AsyncSession) -> None:
    """Flush; two admins giving one login at the same moment meet the unique index."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise LoginTaken() from None


async def create_user(
    session: AsyncSession,
    *,
    data: UserIn,
    region: Region,
    now: dt.datetime,
    setup_code_lifetime: dt.timedelta,
    token_lifetime: dt.timedelta,
) -> NewUser:
    """Create a user with an API token (valid for `token_lifetime`) and, when it has a login, a
    one-time setup code (both shown once; only their hashes are kept). The login is
    `data.login`, or else the phone number when nobody has it as their login yet (people may
    share a phone)."""
    _check_binding(data, region)
    login: str | None = None
    if data.login is not None:
        login = accounts.checked_login(data.login)
        if not await _login_free(session, login):
            raise LoginTaken()
    elif data.phone is not None:
        candidate = accounts.normalize_login(data.phone)
        if await _login_free(session, candidate):
            login = candidate
    token = new_token()
    user = User(
        id=uuid.uuid4(),
        name=data.name,
        role=data.role.value,
        kelurahan_code=data.kelurahan_code,
        phone=data.phone,
        email=data.email,
        token_hash=token_hash(token),
        token_expires_at=now + token_lifetime,
        active=True,
        created_at=now,
        login=login,
        partner_slug=data.partner_slug,
        failed_sign_ins=0,
    )
    code = accounts.give_setup_code(user, now=now, lifetime=setup_code_lifetime) if login else None
    session.add(user)
    await _flush_login(session)
    return NewUser(user, token, code)


async def _user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound()
    return user


async def new_setup_code(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    login: str | None,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> tuple[User, str]:
    """A new one-time code for a user (a forgotten password, a first login given now); the
    previous code stops working and a lock is lifted. `login` gives the user a (new) login."""
    user = await _user(session, user_id)
    if not user.active:
        raise UserDeactivated()
    if login is not None:
        wanted = accounts.checked_login(login)
        if not await _login_free(session, wanted, but=user.id):
            raise LoginTaken()
        user.login = wanted
    if user.login is None:
        raise LoginRequired()
    code = accounts.give_setup_code(user, now=now, lifetime=lifetime)
    await _flush_login(session)
    return user, code


async def issue_token(
    session: AsyncSession, *, user_id: uuid.UUID, now: dt.datetime, lifetime: dt.timedelta
) -> tuple[User, str]:
    """A new API token for an active user, valid for `lifetime` (shown once); the previous one
    stops working now."""
    user = await _user(session, user_id)
    if not user.active:
        raise UserDeactivated()
    token = new_token()
    user.token_hash = token_hash(token)
    user.token_expires_at = now + lifetime
    log.info("user API token issued", extra={"user": str(user.id)})
    return user, token


async def revoke_token(session: AsyncSession, *, user_id: uuid.UUID, now: dt.datetime) -> User:
    """The user's API token stops working now (their sign-in is not touched): its hash is
    replaced by that of a token nobody is given, so no token matches the user until a new one
    is issued."""
    user = await _user(session, user_id)
    user.token_hash = token_hash(new_token())
    user.token_expires_at = now
    log.info("user API token revoked", extra={"user": str(user.id)})
    return user


async def deactivate_user(session: AsyncSession, *, user_id: uuid.UUID, now: dt.datetime) -> User:
    """The user can no longer sign in, refresh a session or use the API token; their sessions
    end now. An access token already issued lives out its minutes in the other services."""
    user = await _user(session, user_id)
    user.active = False
    await accounts.end_sessions(session, user_id=user.id, now=now)
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.created_at))).all())


async def officers_of(session: AsyncSession, *, kelurahan_code: str) -> list[User]:
    """The active officers of a kelurahan, by name."""
    query = select(User).where(
        User.role == PersonRole.OFFICER,
        User.kelurahan_code == kelurahan_code,
        User.active.is_(True),
    )
    return list((await session.scalars(query.order_by(User.name))).all())
