"""People's accounts: setting a password with a one-time code, signing in, sessions.

Intake owns people, so it checks their passwords (argon2id) and signs their access tokens
(`jejaring.shared.web.identity`, with the key derived from JEJARING_IDENTITY_KEY); every
service verifies those tokens itself with the public key. A session lives here as the hash of its refresh token, rotated at every refresh.

Every failure to sign in or to set a password answers the one refusal `SignInRefused`, in about
the same time (an unknown login is checked against a dummy hash), so that an answer never tells
whether a login exists, is locked or is deactivated. Nothing here logs a login, a password, a
code or a token: ids only.

Like `cases.record_case`, `sign_in`, `set_up_password` and `refresh` run their own
transactions: the slow password hash is computed outside the database's write lock, and a
failure's count must be committed although the request is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.errors import (
    BadLogin,
    PasswordIsLogin,
    SessionEnded,
    SignInNotConfigured,
    SignInRefused,
)
from jejaring.intake.models import PersonSession, User
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.db import read_only
from jejaring.shared.web import identity
from jejaring.shared.web.identity import Person, PersonRole
from jejaring.shared.web.tokens import new_token, token_hash

log = logging.getLogger(__name__)

# --- logins ------------------------------------------------------------------------------------

PHONE_LOGIN = re.compile(r"^\+?[0-9 ()-]{6,20}$")
NAME_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,59}$")


def normalize_login(raw: str) -> str:
    """A login as stored and looked up: lower case; a phone number as its digits, with an
    Indonesian +62 written as the national 0 (so '+62 813-0000-0001' is '081300000001')."""
    login = raw.strip().lower()
    if PHONE_LOGIN.fullmatch(login):
        digits = re.sub(r"[^0-9]", "", login)
        if not login.startswith("+"):
            return digits
        return "0" + digits[2:] if digits.startswith("62") else "+" + digits
    return login


def checked_login(raw: str) -> str:
    """`raw` normalised, or BadLogin."""
    login = normalize_login(raw)
    if not (NAME_LOGIN.fullmatch(login) or PHONE_LOGIN.fullmatch(login)):
        raise BadLogin()
    return login


# --- one-time setup codes ----------------------------------------------------------------------

# No 0/O, 1/I/L or U: read aloud or typed on a small phone without mistakes. 12 of these
# characters are about 59 bits: not guessable in 24 hours behind the lock after 5 failures.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def new_setup_code() -> str:
    """A fresh one-time code such as '7KQ2-M9XD-4TRB'."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in (0, 4, 8))


def setup_code_hash(code: str) -> str:
    """What is stored instead of the code; dashes, spaces and case do not matter."""
    return token_hash(re.sub(r"[\s-]", "", code).upper())


def give_setup_code(user: User, *, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """Give `user` a new one-time code (the previous one stops working) and lift a lock: the
    admin vouches for the person. Return the code, to be shown once."""
    code = new_setup_code()
    user.setup_code_hash = setup_code_hash(code)
    user.setup_expires_at = now + lifetime
    user.failed_sign_ins = 0
    user.locked_until = None
    return code


# --- passwords -------------------------------------------------------------------------------

# The hash of a password nobody knows, made with the hasher's parameters: an unknown login is
# checked against it, so that it takes as long as a wrong password (a test keeps the two equal).
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$mD12EoHnMY9wZvUJy7igHA$"
    "z046kC71W8MgGxhSBZDuQVuMIOyB/k5Y1ZdKeZEX1Cw"
)


class Passwords:
    """argon2id (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes) through
    argon2-cffi, off the event loop, at most `parallel` at once: each takes about 0.1 s of a
    core and 64 MiB, and a burst of sign-ins must not take the whole machine."""

    def __init__(self, parallel: int = 2) -> None:
        self.hasher = PasswordHasher()
        self._slots = asyncio.Semaphore(parallel)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Whether `password` matches `hashed`; with no hash, the same work against a dummy."""
        async with self._slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, hashed or DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, hashed: str) -> bool:
        return self.hasher.check_needs_rehash(hashed)


def check_new_password(password: str, *, login: str) -> None:
    """The rules a new password keeps beyond its length (10 to 200, in the schema)."""
    if normalize_login(password) == normalize_login(login):  # case, spaces, a phone's dashes
        raise PasswordIsLogin()


# --- policy and results ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountPolicy:
    """The settings that govern sign-in and sessions."""

    secret: str | None = field(repr=False)
    access_lifetime: dt.timedelta
    session_lifetime: dt.timedelta
    session_idle: dt.timedelta
    max_failures: int
    lock: dt.timedelta
    setup_code_lifetime: dt.timedelta
    api_token_lifetime: dt.timedelta

    @classmethod
    def of(cls, settings: IntakeSettings) -> AccountPolicy:
        return cls(
            secret=settings.identity_key.get_secret_value() if settings.identity_key else None,
            access_lifetime=dt.timedelta(seconds=settings.access_token_lifetime_s),
            session_lifetime=dt.timedelta(seconds=settings.session_lifetime_s),
            session_idle=dt.timedelta(seconds=settings.session_idle_s),
            max_failures=settings.sign_in_max_failures,
            lock=dt.timedelta(seconds=settings.sign_in_lock_s),
            setup_code_lifetime=dt.timedelta(seconds=settings.setup_code_lifetime_s),
            api_token_lifetime=dt.timedelta(days=settings.api_token_lifetime_days),
        )

    def signing_secret(self) -> str:
        """The identity key (JEJARING_IDENTITY_KEY), or SignInNotConfigured (503)."""
        if not self.secret:
            raise SignInNotConfigured()
        return self.secret


@dataclass(frozen=True)
class Signed:
    """What a sign-in or a refresh gives the web app."""

    access_token: str
    expires_in: int
    refresh_token: str
    session_expires_at: dt.datetime
    person: Person


def person_for(user: User) -> Person:
    return Person(
        id=user.id,
        name=user.name,
        role=PersonRole(user.role),
        kelurahan_code=user.kelurahan_code,
        partner_slug=user.partner_slug,
    )


def _signed(
    user: User, row: PersonSession, refresh_token: str, *, policy: AccountPolicy, now: dt.datetime
) -> Signed:
    person = person_for(user)
    return Signed(
        access_token=identity.issue(
            person, secret=policy.signing_secret(), now=now, lifetime=policy.access_lifetime
        ),
        expires_in=int(policy.access_lifetime.total_seconds()),
        refresh_token=refresh_token,
        session_expires_at=row.expires_at,
        person=person,
    )


def _locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def _user_by_login(session: AsyncSession, login: str) -> User | None:
    """The user, read in a transaction of its own that takes no write lock; detached, so that
    its values stay as read (the write transaction that may follow reads it again)."""
    await read_only(session)
    user = await session.scalar(select(User).where(User.login == normalize_login(login)))
    if user is not None:
        session.expunge(user)
    await session.rollback()
    return user


async def _count_failure(
    session: AsyncSession, user_id: uuid.UUID, *, policy: AccountPolicy, now: dt.datetime
) -> None:
    """One more failure in a row; the `max_failures`-th locks the account for `lock` (the
    count starts again). Failures while locked are not counted: the lock is not prolonged."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or not user.active or _locked(user, now):
        return
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= policy.max_failures:
        user.failed_sign_ins = 0
        user.locked_until = now + policy.lock
        log.warning(
            "account locked after failed sign-ins",
            extra={"security": True, "user": str(user.id), "until": user.locked_until},
        )


# --- the flows -------------------------------------------------------------------------------


async def set_up_password(
    session: AsyncSession,
    *,
    login: str,
    code: str,
    password: str,
    passwords: Passwords,
    policy: AccountPolicy,
    now: dt.datetime,
) -> None:
    """Set the password of the person `login` names with their one-time code, which is then
    used up; the person's sessions end. SignInRefused for an unknown login, a wrong, used or
    expired code, a locked or deactivated account; PasswordIsLogin."""
    check_new_password(password, login=login)
    user = await _user_by_login(session, login)
    # Hashed whether or not the code is right: the answer takes as long either way.
    hashed = await passwords.hash(password)
    if user is None:
        raise SignInRefused()
    async with session.begin():
        fresh = await session.get(User, user.id, with_for_update=True, populate_existing=True)
        ok = (
            fresh is not None
            and fresh.active
            and not _locked(fresh, now)
            and fresh.setup_code_hash is not None
            and fresh.setup_expires_at is not None
            and fresh.setup_expires_at > now
            and hmac.compare_digest(fresh.setup_code_hash, setup_code_hash(code))
        )
        if fresh is not None and ok:
            fresh.password_hash = hashed
            fresh.setup_code_hash = None
            fresh.setup_expires_at = None
            fresh.failed_sign_ins = 0
            fresh.locked_until = None
            await end_sessions(session, user_id=fresh.id, now=now)
            log.info("password set", extra={"user": str(fresh.id)})
        else:
            await _count_failure(session, user.id, policy=policy, now=now)
    if not ok:
        raise SignInRefused()


async def sign_in(
    session: AsyncSession,
    *,
    login: str,
    password: str,
    passwords: Passwords,
    policy: AccountPolicy,
    now: dt.datetime,
) -> Signed:
    """A new session for the person `login` names, with a first access token. SignInRefused,
    the same in answer and time, whatever is wrong; SignInNotConfigured without a key."""
    policy.signing_secret()
    user = await _user_by_login(session, login)
    hashed = user.password_hash if user is not None else None
    matches = await passwords.verify(hashed, password)
    if user is None or hashed is None:
        raise SignInRefused()
    signed: Signed | None = None
    async with session.begin():
        fresh = await session.get(User, user.id, with_for_update=True, populate_existing=True)
        if (
            fresh is not None
            and matches
            and fresh.active
            and not _locked(fresh, now)
            and fresh.password_hash == hashed  # not changed while it was being checked
        ):
            fresh.failed_sign_ins = 0
            fresh.locked_until = None
            if passwords.needs_rehash(hashed):
                fresh.password_hash = await passwords.hash(password)
            refresh_token = new_token()
            row = PersonSession(
                id=uuid.uuid4(),
                user_id=fresh.id,
                refresh_hash=token_hash(refresh_token),
                created_at=now,
                last_used_at=now,
                expires_at=now + policy.session_lifetime,
                revoked_at=None,
            )
            session.add(row)
            signed = _signed(fresh, row, refresh_token, policy=policy, now=now)
            log.info("signed in", extra={"user": str(fresh.id), "session": str(row.id)})
        elif not matches:
            await _count_failure(session, user.id, policy=policy, now=now)
    if signed is None:
        raise SignInRefused()
    return signed


async def refresh(
    session: AsyncSession, *, refresh_token: str, policy: AccountPolicy, now: dt.datetime
) -> Signed:
    """A new access token and a new refresh token for a session that is still alive (the old
    refresh token stops working). SessionEnded when the token is unknown or used up, the
    session revoked, past its end, idle for too long, or its person deactivated."""
    policy.signing_secret()
    signed: Signed | None = None
    async with session.begin():
        row = await session.scalar(
            select(PersonSession)
            .where(PersonSession.refresh_hash == token_hash(refresh_token))
            .with_for_update()
        )
        if row is None or row.revoked_at is not None:
            pass
        elif now >= row.expires_at or now - row.last_used_at > policy.session_idle:
            row.revoked_at = now
            log.info("session ended", extra={"session": str(row.id), "user": str(row.user_id)})
        else:
            user = await session.get(User, row.user_id)
            if user is None or not user.active:
                row.revoked_at = now
            else:
                token = new_token()
                row.refresh_hash = token_hash(token)
                row.last_used_at = now
                signed = _signed(user, row, token, policy=policy, now=now)
    if signed is None:
        raise SessionEnded()
    return signed


async def sign_out(session: AsyncSession, *, refresh_token: str, now: dt.datetime) -> None:
    """End the session of `refresh_token` (nothing happens for an unknown one)."""
    await session.execute(
        update(PersonSession)
        .where(
            PersonSession.refresh_hash == token_hash(refresh_token),
            PersonSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def end_sessions(session: AsyncSession, *, user_id: uuid.UUID, now: dt.datetime) -> None:
    """End every session of a person (deactivated, or a new password)."""
    await session.execute(
        update(PersonSession)
        .where(PersonSession.user_id == user_id, PersonSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
