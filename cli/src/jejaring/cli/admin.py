"""Administration commands that work on a service's own database, through its service layer."""

from __future__ import annotations

import os
import uuid

from pydantic import ValidationError

from jejaring.intake import users as intake_users
from jejaring.intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from jejaring.intake.schemas import UserIn
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import db
from jejaring.shared.migrate import migrate
from jejaring.shared.refusals import Refusal
from jejaring.shared.region import load_region


def intake_settings() -> IntakeSettings:
    """Intake's settings as the running stack sees them (JEJARING_DATA_DIR included)."""
    data_dir = os.environ.get("INTAKE_DATA_DIR") or os.environ.get("JEJARING_DATA_DIR") or ".data"
    return IntakeSettings(data_dir=data_dir)


async def add_user(
    *, name: str, role: str, kelurahan: str | None, phone: str | None, email: str | None
) -> tuple[uuid.UUID, str]:
    """Create an intake user; raise ValueError with the reason when the input is refused."""
    try:
        data = UserIn.model_validate(
            {
                "name": name,
                "role": role,
                "kelurahan_code": kelurahan,
                "phone": phone,
                "email": email,
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{field}: {first['msg']}") from None
    settings = intake_settings()
    engine = db.create_engine(settings.db_url)
    try:
        await migrate(engine, INTAKE_MIGRATIONS, lock_name="jejaring-intake")
        sessions = db.session_factory(engine)
        async with sessions() as session, session.begin():
            user, token = await intake_users.create_user(
                session, data=data, region=load_region(settings.region_file)
            )
    except Refusal as exc:
        e = exc.errors[0]
        raise ValueError(f"{e.field}: {e.message_en}") from None
    finally:
        await engine.dispose()
    return user.id, token
