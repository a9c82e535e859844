"""Server-side sessions: who is signed in, with their tokens, kept in the web app's own
database. The browser holds only a random session id in an HttpOnly cookie.

A session ends after `session_idle_minutes` without a request and `session_max_hours` after
sign-in, whichever comes first, on the web app's own clock. The access token (under a minute) is
refreshed at intake while the session lasts; the refresh token rotates on every refresh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.shared.db import read_only
from jejaring.web.models import SignInFailure, WebSession
from jejaring.web.security import new_csrf_token
from jejaring.web.settings import WebSettings
from jejaring.web.upstream import ServiceName, Unreachable, Upstream

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Refresh an access token (it lives 50 s at most) this long before it expires: a page's calls
# to the services then never carry one about to run out.
REFRESH_AHEAD = dt.timedelta(seconds=20)
TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen_at is written at most this often


class SessionEnded(Exception):
    """The session is gone (expired, signed out, or intake no longer refreshes it)."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    kelurahan_code: str | None
    partner_slug: str | None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: dt.datetime
    refresh_token: str


def tokens_from(answer: dict[str, Any], now: dt.datetime) -> Tokens:
    """The tokens of a sign-in or refresh answer; the access token's end on our clock."""
    lifetime = dt.timedelta(seconds=max(0, int(answer.get("expires_in") or 0)))
    return Tokens(str(answer["access_token"]), now + lifetime, str(answer["refresh_token"]))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions and failed sign-ins in the web app's database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: WebSettings,
        clock: Clock,
        upstream: Upstream,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.upstream = upstream
        self.idle = dt.timedelta(minutes=settings.session_idle_minutes)
        self.longest = dt.timedelta(hours=settings.session_max_hours)
        # One refresh at a time per session in this process: a refresh token works once.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # --- sessions ------------------------------------------------------------------------------

    async def create(self, tokens: Tokens, person: Person) -> str:
        """A new session for `person`; returns the id for the cookie (stored only hashed)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.sessions() as db, db.begin():
            await self._purge(db, now)
            db.add(
                WebSession(
                    id_hash=_hash(session_id),
                    csrf_token=new_csrf_token(),
                    access_token=tokens.access_token,
                    access_expires_at=tokens.expires_at,
                    refresh_token=tokens.refresh_token,
                    person_id=person.id,
                    person_name=person.name,
                    role=person.role,
                    kelurahan_code=person.kelurahan_code,
                    partner_slug=person.partner_slug,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return session_id

    def expired(self, row: WebSession, now: dt.datetime) -> bool:
        return now - row.last_seen_at >= self.idle or now - row.created_at >= self.longest

    async def load(self, session_id: str | None) -> SignedIn | None:
        """The live session behind a cookie, touched; None (and the session ended) if expired."""
        if not session_id or len(session_id) > 100:
            return None
        now = self.clock()
        async with self.sessions() as db:
            await read_only(db)
            row = await db.get(WebSession, _hash(session_id))
        if row is None:
            return None
        if self.expired(row, now):
            await self.end(row)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            async with self.sessions() as db, db.begin():
                stored = await db.get(WebSession, row.id_hash)
                if stored is None:
                    return None
                stored.last_seen_at = now
                row = stored
        return SignedIn(self, row)

    async def end(self, row: WebSession) -> None:
        """Sign out: revoke the refresh token at intake (best effort) and delete the session."""
        try:
            await self.upstream.call(
                "intake", "POST", "/api/v1/auth/sign-out", json={"refresh_token": row.refresh_token}
            )
        except Unreachable:
            log.warning("sign-out not confirmed by intake; the session is deleted here")
        async with self.sessions() as db, db.begin():
            await db.execute(delete(WebSession).where(WebSession.id_hash == row.id_hash))

    async def _purge(self, db: AsyncSession, now: dt.datetime) -> None:
        await db.execute(
            delete(WebSession).where(
                (WebSession.last_seen_at <= now - self.idle)
                | (WebSession.created_at <= now - self.longest)
            )
        )
        window = dt.timedelta(minutes=self.settings.sign_in_window_minutes)
        await db.execute(delete(SignInFailure).where(SignInFailure.at <= now - window))

    def lock(self, id_hash: str) -> asyncio.Lock:
        lock = self._locks.get(id_hash)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[id_hash] = lock
        return lock

    # --- failed sign-ins -------------------------------------------------------------------------

    async def too_many_failures(self, address: str) -> bool:
        """Whether `address` has failed to sign in too often in the window."""
        since = self.clock() - dt.timedelta(minutes=self.settings.sign_in_window_minutes)
        async with self.sessions() as db:
            await read_only(db)
            count = await db.scalar(
                select(func.count())
                .select_from(SignInFailure)
                .where(SignInFailure.address == address[:64], SignInFailure.at > since)
            )
        return int(count or 0) >= self.settings.sign_in_failures_allowed

    async def record_failure(self, address: str) -> None:
        async with self.sessions() as db, db.begin():
            db.add(SignInFailure(address=address[:64], at=self.clock()))


class SignedIn:
    """A live session: the person, their CSRF token, and calls to the services as them."""

    def __init__(self, store: SessionStore, row: WebSession) -> None:
        self.store = store
        self.row = row

    @property
    def person(self) -> Person:
        r = self.row
        return Person(r.person_id, r.person_name, r.role, r.kelurahan_code, r.partner_slug)

    @property
    def csrf_token(self) -> str:
        return self.row.csrf_token

    async def _access_token(self, *, renew: bool = False) -> str:
        now = self.store.clock()
        if not renew and self.row.access_expires_at - now > REFRESH_AHEAD:
            return self.row.access_token
        used = self.row.access_token
        async with self.store.lock(self.row.id_hash):
            async with self.store.sessions() as db:
                await read_only(db)
                current = await db.get(WebSession, self.row.id_hash)
            if current is None:
                raise SessionEnded()
            if current.access_token != used:  # another request refreshed meanwhile
                self.row = current
                return current.access_token
            answer = await self.store.upstream.call(
                "intake",
                "POST",
                "/api/v1/auth/refresh",
                json={"refresh_token": current.refresh_token},
            )
            if answer.status_code != 200:
                await self._forget()
                raise SessionEnded()
            tokens = tokens_from(answer.json(), self.store.clock())
            async with self.store.sessions() as db, db.begin():
                stored = await db.get(WebSession, self.row.id_hash)
                if stored is None:
                    raise SessionEnded()
                stored.access_token = tokens.access_token
                stored.access_expires_at = tokens.expires_at
                stored.refresh_token = tokens.refresh_token
                self.row = stored
            return tokens.access_token

    async def _forget(self) -> None:
        async with self.store.sessions() as db, db.begin():
            await db.execute(delete(WebSession).where(WebSession.id_hash == self.row.id_hash))

    async def call(
        self, service: ServiceName, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """Call a service as this person; a token refused (401) is renewed once. Intake issues
        the tokens, so a fresh one it refuses ends the session; another service's 401 is the
        caller's to show."""
        token = await self._access_token()
        answer = await self.store.upstream.call(service, method, path, token=token, **kwargs)
        if answer.status_code == 401:
            token = await self._access_token(renew=True)
            answer = await self.store.upstream.call(service, method, path, token=token, **kwargs)
            if answer.status_code == 401 and service == "intake":
                await self._forget()
                raise SessionEnded()
        return answer

    async def sign_out(self) -> None:
        await self.store.end(self.row)
