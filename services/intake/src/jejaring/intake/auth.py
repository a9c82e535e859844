"""Who is asking: a person's access token, or an API token (only its SHA-256 is stored), and
what each role may see."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.errors import RoleNotAllowed
from jejaring.intake.models import User
from jejaring.shared.web.errors import token_expired, unauthorized
from jejaring.shared.web.identity import Person, PersonRole
from jejaring.shared.web.tokens import bearer_token, same_token, token_hash

BOOTSTRAP_ADMIN_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    name: str
    role: PersonRole
    kelurahan_code: str | None = None
    phone: str | None = None
    email: str | None = None
    partner_slug: str | None = None

    def sees(self, kelurahan_code: str) -> bool:
        """Officers see their own kelurahan; the coordinator sees the whole kecamatan."""
        if self.role == PersonRole.COORDINATOR:
            return True
        return self.role == PersonRole.OFFICER and self.kelurahan_code == kelurahan_code


async def authenticate(
    session: AsyncSession,
    *,
    authorization: str | None,
    admin_token: str | None,
    now: dt.datetime,
    person: Person | None = None,
) -> Principal:
    """The principal behind an `Authorization: Bearer <token>` header, or 401. `person` is who
    the header's access token names, when it is one (`jejaring.shared.web.people.person_of`):
    that person acts as their user, as long as the user is active. A user's API token works
    until its end (401 `token_expired` after)."""
    if person is not None:
        return _principal((await session.execute(_BY_ID, {"id": person.id})).first())
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized()
    if same_token(token, admin_token):
        return Principal(id=BOOTSTRAP_ADMIN_ID, name="bootstrap admin", role=PersonRole.ADMIN)
    row = (await session.execute(_BY_TOKEN, {"token_hash": token_hash(token)})).first()
    if row is not None and (row.token_expires_at is None or row.token_expires_at <= now):
        raise token_expired()
    return _principal(row)


_PRINCIPAL_FIELDS = tuple(f.name for f in fields(Principal))


def _principal(row: Any) -> Principal:
    if row is None:
        raise unauthorized()
    values = {name: row._mapping[name] for name in _PRINCIPAL_FIELDS}
    return Principal(**{**values, "role": PersonRole(row.role)})


# Every request runs one of these: the columns only, no ORM object to build.
_COLUMNS = select(
    User.id,
    User.name,
    User.role,
    User.kelurahan_code,
    User.phone,
    User.email,
    User.partner_slug,
).where(User.active.is_(True))
_BY_TOKEN = _COLUMNS.add_columns(User.token_expires_at).where(
    User.token_hash == bindparam("token_hash")
)
_BY_ID = _COLUMNS.where(User.id == bindparam("id"))


def require_role(principal: Principal, *roles: PersonRole) -> None:
    """403 unless `principal` has one of `roles`."""
    if principal.role not in roles:
        raise RoleNotAllowed(principal.role, roles)
