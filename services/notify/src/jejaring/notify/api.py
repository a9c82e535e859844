"""Notify's HTTP API: the delivery log, so an operator can answer "was the police told, and when?"."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify import service
from jejaring.notify.models import DeliveryStatus
from jejaring.notify.settings import NotifySettings
from jejaring.shared.web.errors import unauthorized
from jejaring.shared.web.tokens import bearer_token, same_token


@dataclass(frozen=True)
class Context:
    settings: NotifySettings
    sessions: async_sessionmaker[AsyncSession]


def context(request: Request) -> Context:
    ctx: Context = request.app.state.notify
    return ctx


Ctx = Annotated[Context, Depends(context)]


async def admin(
    ctx: Ctx, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> None:
    token = bearer_token(authorization)
    expected = ctx.settings.admin_token.get_secret_value() if ctx.settings.admin_token else None
    if token is None or not same_token(token, expected):
        raise unauthorized()


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: str
    trigger: str
    case_reference: str
    referral_id: uuid.UUID | None
    recipient_name: str
    recipient_role: str
    recipient: str
    channel: str
    urgent: bool
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    provider_message_id: str | None
    last_error: str | None
    fallback_of: uuid.UUID | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


router = APIRouter(prefix="/api/v1")
STATUS_PATTERN = "^(" + "|".join(DeliveryStatus) + ")$"


@router.get(
    "/deliveries",
    response_model=list[DeliveryOut],
    dependencies=[Depends(admin)],
    tags=["deliveries"],
)
async def deliveries(
    ctx: Ctx,
    case_reference: Annotated[str | None, Query(max_length=32)] = None,
    referral_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
) -> list[DeliveryOut]:
    """The delivery log (admin), oldest first: who was told what, on which channel, when."""
    async with ctx.sessions() as session:
        rows = await service.list_deliveries(
            session,
            case_reference=case_reference,
            referral_id=referral_id,
            status=DeliveryStatus(status) if status else None,
        )
        return [DeliveryOut.model_validate(r) for r in rows]
