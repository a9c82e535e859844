"""Report's HTTP API: the monthly report and its exports, for the coordinator (exact numbers)
and, with small numbers suppressed, for the other PPATBM roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.report.settings import ReportSettings
from jejaring.shared.web.errors import unauthorized
from jejaring.shared.web.identity import Person, PersonRole
from jejaring.shared.web.people import person_of
from jejaring.shared.web.tokens import bearer_token, same_token

router = APIRouter(prefix="/api/v1")


@dataclass(frozen=True)
class Context:
    settings: ReportSettings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], dt.datetime]


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.report
    return ctx


Ctx = Annotated[Context, Depends(context)]


@dataclass(frozen=True)
class Reader:
    """Who reads: the admin (the admin token, or an admin person), or another person."""

    person: Person | None = None

    @property
    def role(self) -> PersonRole:
        return self.person.role if self.person else PersonRole.ADMIN


async def reader(
    ctx: Ctx, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Reader:
    if person := person_of(authorization, settings=ctx.settings, clock=ctx.clock):
        return Reader(person)
    token = bearer_token(authorization)
    expected = ctx.settings.admin_token.get_secret_value() if ctx.settings.admin_token else None
    if token is None or not same_token(token, expected):
        raise unauthorized()
    return Reader()
