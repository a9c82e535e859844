"""Notify's HTTP API: the delivery log, so an operator can answer "was the police told, and when?",
and an officer or the coordinator whether the people of one of their cases were told."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify import service
from jejaring.notify.channels import whatsapp_failures, whatsapp_reason
from jejaring.notify.models import DeliveryStatus
from jejaring.notify.registry import ChannelKind
from jejaring.notify.settings import NotifySettings
from jejaring.shared.web.errors import api_error, forbidden, not_found, unauthorized
from jejaring.shared.web.identity import Person, PersonRole
from jejaring.shared.web.people import person_of
from jejaring.shared.web.tokens import bearer_token, same_token


@dataclass(frozen=True)
class Context:
    settings: NotifySettings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], dt.datetime]


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.notify
    return ctx


Ctx = Annotated[Context, Depends(context)]


@dataclass(frozen=True)
class Reader:
    """Who reads the log: the admin (the admin token, or an admin person), or another person."""

    person: Person | None = None

    @property
    def admin(self) -> bool:
        return self.person is None or self.person.role == PersonRole.ADMIN


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


class DeliverySummary(BaseModel):
    """A delivery as an officer or the coordinator sees it: what was sent to whom (by role),
    how, and when; never the text, nor the recipient's name or address."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_reference: str
    referral_id: uuid.UUID | None
    trigger: str
    recipient_role: str
    channel: str
    status: str
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None


class DeliveryOut(BaseModel):
    """A delivery as the admin sees it."""

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
    response_model=list[DeliveryOut] | list[DeliverySummary],
    tags=["deliveries"],
)
async def deliveries(
    ctx: Ctx,
    who: Annotated[Reader, Depends(reader)],
    case_reference: Annotated[str | None, Query(max_length=32)] = None,
    referral_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
) -> list[DeliveryOut] | list[DeliverySummary]:
    """The delivery log, oldest first: who was told what, on which channel, when. The admin
    reads all of it; an officer or the coordinator (with their access token) one case at a
    time (`case_reference` required), an officer only their own kelurahan's deliveries, and
    without recipients' names, addresses or errors (DeliverySummary)."""
    async with ctx.sessions() as session:
        rows = await service.list_deliveries(
            session,
            case_reference=case_reference,
            referral_id=referral_id,
            status=DeliveryStatus(status) if status else None,
            reader=who.person,
        )
        if who.admin:
            return [DeliveryOut.model_validate(r) for r in rows]
        return [DeliverySummary.model_validate(r) for r in rows]


# WhatsApp's status webhook (Meta calls it; the app secret signs each call). Off unless
# NOTIFY_WHATSAPP_APP_SECRET is set.
WEBHOOK = "/whatsapp/webhook"


def _webhook_off() -> Exception:
    return not_found("Webhook WhatsApp", "The WhatsApp webhook")


@router.get(WEBHOOK, response_class=PlainTextResponse, tags=["whatsapp"])
async def whatsapp_subscribe(
    ctx: Ctx,
    mode: Annotated[str, Query(alias="hub.mode", max_length=20)],
    token: Annotated[str, Query(alias="hub.verify_token", max_length=200)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)],
) -> str:
    """Meta's subscription check: the challenge back if the verify token is ours."""
    expected = ctx.settings.whatsapp_verify_token
    if ctx.settings.whatsapp_app_secret is None or expected is None:
        raise _webhook_off()
    if mode != "subscribe" or not same_token(token, expected.get_secret_value()):
        raise forbidden("Token verifikasi salah.", "Wrong verify token.")
    return challenge


@router.post(WEBHOOK, tags=["whatsapp"])
async def whatsapp_status(
    ctx: Ctx,
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> dict[str, int]:
    """Status updates from WhatsApp: a message it accepted and reports `failed` marks its
    delivery failed and queues the SMS after it. Signed by the app secret, or 401."""
    secret = ctx.settings.whatsapp_app_secret
    if secret is None:
        raise _webhook_off()
    body = await request.body()
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    if signature is None or not hmac.compare_digest(signature, f"sha256={digest}"):
        raise unauthorized()
    try:
        payload = json.loads(body)
    except ValueError:
        raise api_error(
            400, "body", "invalid_json", "Isi bukan JSON.", "The body is not JSON."
        ) from None
    failed = 0
    async with ctx.sessions() as session, session.begin():
        for message_id, code in whatsapp_failures(payload):
            failed += await service.provider_failed(
                session,
                channel=ChannelKind.WHATSAPP,
                provider_message_id=message_id,
                reason=whatsapp_reason("WhatsApp reported it failed", code),
                now=ctx.clock(),
            )
    return {"failed": failed}
