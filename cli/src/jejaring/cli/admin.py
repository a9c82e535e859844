"""Administration commands that work on a service's own database, through its service layer."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import rules
from jejaring.intake import users as intake_users
from jejaring.intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from jejaring.intake.models import User
from jejaring.intake.schemas import UserIn
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import db
from jejaring.shared.migrate import migrate
from jejaring.shared.refusals import Refusal
from jejaring.shared.region import load_region

T = TypeVar("T")


def intake_settings() -> IntakeSettings:
    """Intake's settings as the running stack sees them (JEJARING_DATA_DIR included)."""
    data_dir = os.environ.get("INTAKE_DATA_DIR") or os.environ.get("JEJARING_DATA_DIR") or ".data"
    return IntakeSettings(data_dir=data_dir)


@dataclass(frozen=True)
class AddedUser:
    id: uuid.UUID
    token: str
    login: str | None
    setup_code: str | None
    setup_expires_at: dt.datetime | None  # in the region's time zone (WITA)


async def add_user(
    *,
    name: str,
    role: str,
    kelurahan: str | None,
    phone: str | None,
    email: str | None,
    login: str | None = None,
    partner: str | None = None,
) -> AddedUser:
    """Create an intake user; raise ValueError with the reason when the input is refused."""
    try:
        data = UserIn.model_validate(
            {
                "name": name,
                "role": role,
                "kelurahan_code": kelurahan,
                "phone": phone,
                "email": email,
                "login": login,
                "partner_slug": partner,
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{field}: {first['msg']}") from None
    settings = intake_settings()
    region = load_region(settings.region_file)

    async def create(session: AsyncSession) -> intake_users.NewUser:
        return await intake_users.create_user(
            session,
            data=data,
            region=region,
            now=dt.datetime.now(dt.UTC),
            setup_code_lifetime=dt.timedelta(seconds=settings.setup_code_lifetime_s),
            token_lifetime=dt.timedelta(days=settings.api_token_lifetime_days),
        )

    created = await _in_intake(settings, create)
    expires = created.user.setup_expires_at
    return AddedUser(
        id=created.user.id,
        token=created.token,
        login=created.user.login,
        setup_code=created.setup_code,
        setup_expires_at=expires.astimezone(rules.local_zone(region)) if expires else None,
    )


async def issue_token(user_id: uuid.UUID) -> tuple[str, dt.datetime]:
    """A new API token for a user (the old one stops working) and its end, in WITA."""
    settings = intake_settings()

    async def issue(session: AsyncSession) -> tuple[User, str]:
        return await intake_users.issue_token(
            session,
            user_id=user_id,
            now=dt.datetime.now(dt.UTC),
            lifetime=dt.timedelta(days=settings.api_token_lifetime_days),
        )

    user, token = await _in_intake(settings, issue)
    assert user.token_expires_at is not None
    zone = rules.local_zone(load_region(settings.region_file))
    return token, user.token_expires_at.astimezone(zone)


async def revoke_token(user_id: uuid.UUID) -> None:
    """The user's API token stops working now."""

    async def revoke(session: AsyncSession) -> User:
        return await intake_users.revoke_token(
            session, user_id=user_id, now=dt.datetime.now(dt.UTC)
        )

    await _in_intake(intake_settings(), revoke)


async def _in_intake(settings: IntakeSettings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on intake's (migrated) database; a refusal becomes a
    ValueError with the field and the reason."""
    engine = db.create_engine(settings.db_url)
    try:
        await migrate(engine, INTAKE_MIGRATIONS, lock_name="jejaring-intake")
        sessions = db.session_factory(engine)
        async with sessions() as session, session.begin():
            return await work(session)
    except Refusal as exc:
        e = exc.errors[0]
        raise ValueError(f"{e.field}: {e.message_en}") from None
    finally:
        await engine.dispose()
