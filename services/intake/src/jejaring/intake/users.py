"""Users of intake: officers bound to a kelurahan, the coordinator, and admins, with tokens."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import rules
from jejaring.intake.errors import OfficerNeedsKelurahan, OnlyOfficersHaveKelurahan
from jejaring.intake.models import User
from jejaring.intake.schemas import UserIn
from jejaring.shared.refusals import Invalid
from jejaring.shared.region import Region
from jejaring.shared.web.tokens import new_token, token_hash


async def create_user(session: AsyncSession, *, data: UserIn, region: Region) -> tuple[User, str]:
    """Create a user and return it with its token (shown once; only the hash is kept)."""
    if data.role == "officer":
        if data.kelurahan_code is None:
            raise OfficerNeedsKelurahan()
        if errors := rules.check_kelurahan(data.kelurahan_code, region):
            raise Invalid(*errors)
    elif data.kelurahan_code is not None:
        raise OnlyOfficersHaveKelurahan()
    token = new_token()
    user = User(
        id=uuid.uuid4(),
        name=data.name,
        role=data.role,
        kelurahan_code=data.kelurahan_code,
        phone=data.phone,
        email=data.email,
        token_hash=token_hash(token),
        active=True,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(user)
    await session.flush()
    return user, token


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.created_at))).all())
