"""Who is asking: bearer tokens (only their SHA-256 is stored) and what each role may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake.errors import RoleNotAllowed
from jejaring.intake.models import User
from jejaring.shared.web.errors import unauthorized
from jejaring.shared.web.tokens import bearer_token, same_token, token_hash

BOOTSTRAP_ADMIN_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    name: str
    role: str
    kelurahan_code: str | None = None
    phone: str | None = None
    email: str | None = None

    def sees(self, kelurahan_code: str) -> bool:
        """Officers see their own kelurahan; the coordinator sees the whole kecamatan."""
        if self.role == "coordinator":
            return True
        return self.role == "officer" and self.kelurahan_code == kelurahan_code


async def authenticate(
    session: AsyncSession, *, authorization: str | None, admin_token: str | None
) -> Principal:
    """The principal behind an `Authorization: Bearer <token>` header, or 401."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized()
    if same_token(token, admin_token):
        return Principal(id=BOOTSTRAP_ADMIN_ID, name="bootstrap admin", role="admin")
    user = (await session.execute(_BY_TOKEN, {"token_hash": token_hash(token)})).first()
    if user is None:
        raise unauthorized()
    return Principal(**user._mapping)


# Every request runs this: the columns only, no ORM object to build.
_BY_TOKEN = select(
    User.id, User.name, User.role, User.kelurahan_code, User.phone, User.email
).where(User.token_hash == bindparam("token_hash"), User.active.is_(True))


def require_role(principal: Principal, *roles: str) -> None:
    """403 unless `principal` has one of `roles`."""
    if principal.role not in roles:
        raise RoleNotAllowed(principal.role, roles)
