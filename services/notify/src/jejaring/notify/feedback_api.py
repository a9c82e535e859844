"""The survivors' feedback over HTTP (feedback.py): the SMS gateway posts the replies that come
in, and the coordinator reads each partner's scores."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from jejaring.notify import feedback
from jejaring.notify.api import Ctx, Reader, reader
from jejaring.shared.web.errors import api_error, forbidden, not_found, unauthorized
from jejaring.shared.web.identity import PersonRole
from jejaring.shared.web.tokens import bearer_token, same_token

router = APIRouter(prefix="/api/v1")
READERS = (PersonRole.COORDINATOR, PersonRole.OFFICER, PersonRole.ADMIN)
MAX_FIELD = 1000  # characters of a sender or a text read (a reply is one digit)


class InboundOut(BaseModel):
    recorded: bool


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    """The inbound message's fields: a JSON object or a form-encoded body."""
    if content_type.split(";")[0].strip() == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise api_error(
            400,
            "body",
            "invalid_body",
            "Isi bukan objek JSON atau formulir.",
            "The body is not a JSON object or a form.",
        )
    return parsed


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str | int) or not str(value).strip():
        raise api_error(
            422,
            name,
            "missing",
            f"Wajib diisi: {name} (teks).",
            f"Required: {name} (text).",
        )
    return str(value)[:MAX_FIELD]


@router.post("/sms/inbound", response_model=InboundOut, tags=["feedback"])
async def sms_inbound(
    ctx: Ctx,
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> InboundOut:
    """An SMS that came in, posted by the SMS gateway with NOTIFY_SMS_INBOUND_TOKEN (Bearer;
    404 when it is not set): a survivor's reply 1-5 to a feedback request is recorded once.
    The sender's number and the text are read from the fields NOTIFY_SMS_INBOUND_FROM_FIELD and
    NOTIFY_SMS_INBOUND_TEXT_FIELD of a JSON object or a form."""
    settings = ctx.settings
    if settings.sms_inbound_token is None:
        raise not_found("Penerima SMS masuk", "The inbound SMS endpoint")
    token = bearer_token(authorization)
    if token is None or not same_token(token, settings.sms_inbound_token.get_secret_value()):
        raise unauthorized()
    fields = _fields(await request.body(), request.headers.get("content-type", ""))
    sender = _text(fields, settings.sms_inbound_from_field)
    text = _text(fields, settings.sms_inbound_text_field)
    async with ctx.sessions() as session, session.begin():
        recorded = await feedback.receive(
            session, sender=sender, text=text, settings=settings, now=ctx.clock()
        )
    return InboundOut(recorded=recorded)


class PartnerScoresOut(BaseModel):
    partner_slug: str
    count: int | str
    mean: float | None


@router.get("/feedback/summary", response_model=list[PartnerScoresOut], tags=["feedback"])
async def feedback_summary(
    ctx: Ctx, who: Annotated[Reader, Depends(reader)]
) -> list[PartnerScoresOut]:
    """The survivors' scores per partner: how many answered and the mean (1-5). The
    coordinator sees every count; officers and the admin see a count under 3 as "<3", without
    its mean; nobody else reads it (403)."""
    role = who.person.role if who.person else PersonRole.ADMIN
    if role not in READERS:
        raise forbidden(
            "Penilaian penyintas hanya untuk PPATBM.", "Survivors' scores are for PPATBM only."
        )
    async with ctx.sessions() as session:
        rows = await feedback.summary(session, exact=role == PersonRole.COORDINATOR)
    return [PartnerScoresOut(partner_slug=r.partner_slug, count=r.count, mean=r.mean) for r in rows]
