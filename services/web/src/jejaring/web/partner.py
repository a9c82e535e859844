"""Partner staff's pages: their partner's referrals (open first, most urgent first, with the
time left to accept), one referral, and their answers to it. Referral decides everything: which
referrals the partner holds, which fields it sees, which answers its status allows."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.shared.contract.enums import AnswerReason, Lang
from jejaring.web import attachments_view, messages
from jejaring.web.officer import NotAnOfficer, labeller
from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    Web,
    WebDep,
    formatter,
    language,
    redirect,
    render,
)
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()

# FHIR Task statuses still waiting for the partner's work; the others are final.
OPEN = ("requested", "accepted", "in-progress", "on-hold")
# referral's field → the input on the referral page
_INPUTS = {"status": "status", "reason": "reason", "reason_code": "reason_code", "note": "note"}
# referral's refusal codes the catalogue words for people
_REFUSALS = {
    "reason_required": "referral.answer.reason_required",
    "illegal_transition": "referral.answer.illegal",
}


def require_partner_staff(signed: SignedIn) -> str:
    """The person's partner; other roles see their own start page."""
    if signed.person.role != "partner_staff" or not signed.person.partner_slug:
        raise NotAnOfficer()
    return signed.person.partner_slug


@dataclass(frozen=True)
class Countdown:
    """The time left to accept a referral, as people say it, and whether it has passed."""

    text: str
    late: bool


def countdown(deadline: dt.datetime | str | None, now: dt.datetime, lang: Lang) -> Countdown:
    """ "sisa 3 jam 20 menit", or "lewat 15 menit" once the deadline has passed (whole minutes,
    rounded towards the deadline, so a referral never looks less urgent than it is)."""
    t = messages.translator(lang)
    if not deadline:
        return Countdown("", False)
    moment = dt.datetime.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    seconds = (moment - now).total_seconds()
    late = seconds <= 0
    minutes = int(abs(seconds) // 60) if not late else int(-(seconds // 60))
    if not late and minutes == 0:
        return Countdown(t("countdown.under_a_minute"), False)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(t("countdown.days", n=days))
    if hours:
        parts.append(t("countdown.hours", n=hours))
    if mins and not days:
        parts.append(t("countdown.minutes", n=mins))
    span = " ".join(parts) or t("countdown.minutes", n=0)
    return Countdown(t("countdown.late" if late else "countdown.left", span=span), late)


def _sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
    """Open first; among them urgent first, then the soonest deadline; then the newest."""
    is_open = r.get("status") in OPEN
    updated = dt.datetime.fromisoformat(r["updated_at"]).timestamp()
    if is_open:
        urgent = r.get("priority") == "urgent"
        deadline = dt.datetime.fromisoformat(r["accept_by"]).timestamp()
        return (0, 0 if urgent else 1, deadline, 0.0)
    return (1, 0, 0.0, -updated)


async def _referrals(signed: SignedIn, slug: str) -> list[dict[str, Any]] | None:
    """The partner's referrals as referral shows them to this person (None: not registered)."""
    answer = await signed.call("referral", "GET", f"/api/v1/partners/{slug}/referrals")
    if answer.status_code != 200:
        return None
    rows = answer.json()
    return sorted(rows, key=_sort_key) if isinstance(rows, list) else None


def _context(request: Request, w: Web) -> dict[str, Any]:
    lang = language(request, w)
    now = w.clock()
    kelurahan = {k.code: k.name for k in w.region.kelurahan}
    return {
        "label": labeller(lang),
        "when": formatter(lang, w.zone),
        "left": lambda r: (
            countdown(r.get("accept_by"), now, lang)
            if r.get("status") == "requested"
            else Countdown("", False)
        ),
        "kelurahan_of": lambda code: kelurahan.get(code, code),
    }


@router.get("/referrals")
async def inbox(request: Request, w: WebDep, signed: Signed) -> Response:
    slug = require_partner_staff(signed)
    rows = await _referrals(signed, slug)
    found = rows or []
    return render(
        request,
        w,
        "partner/inbox.html",
        signed=signed,
        slug=slug,
        unknown=rows is None,
        open=[r for r in found if r["status"] in OPEN],
        done=[r for r in found if r["status"] not in OPEN],
        **_context(request, w),
    )


async def _referral(signed: SignedIn, slug: str, referral_id: str) -> dict[str, Any]:
    """One of the partner's referrals; anyone else's (or none) is not found."""
    try:
        wanted = str(uuid.UUID(referral_id))
    except ValueError:
        raise HTTPException(404) from None
    for r in await _referrals(signed, slug) or []:
        if r.get("id") == wanted:
            return r
    raise HTTPException(404)


async def _referral_page(
    request: Request,
    w: Web,
    signed: SignedIn,
    slug: str,
    referral_id: str,
    *,
    errors: Errors | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    r = await _referral(signed, slug, referral_id)
    lang = language(request, w)
    label = labeller(lang)
    # Referral writes a code's Indonesian label as the reason when no text came with it: that
    # text says nothing the code's own row does not.
    code = r.get("reason_code")
    written = r.get("reason")
    if code and written == labeller("id")("answer_reason", code):
        written = None
    return render(
        request,
        w,
        "partner/referral.html",
        errors=errors,
        signed=signed,
        here=f"/referrals/{r['id']}",
        r=r,
        saved=request.query_params.get("saved") == "1",
        typed=typed or {},
        answers=[(s, label("answer", s)) for s in r.get("allowed_answers") or []],
        reasons=[(c.value, c.label(lang)) for c in AnswerReason],
        reason_text=written,
        documents=await attachments_view.documents(signed, r["id"]),
        **_context(request, w),
    )


@router.get("/referrals/{referral_id}")
async def referral_page(referral_id: str, request: Request, w: WebDep, signed: Signed) -> Response:
    slug = require_partner_staff(signed)
    return await _referral_page(request, w, signed, slug, referral_id)


@router.post("/referrals/{referral_id}/answer")
async def answer(
    referral_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """The partner's answer, sent to referral as this person; its refusals beside the fields."""
    slug = require_partner_staff(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    status, reason, note = form.get("status"), form.get("reason"), form.get("note")
    reason_code = form.get("reason_code")
    typed = {"status": status, "reason": reason, "reason_code": reason_code, "note": note}
    errors = Errors()
    if not status:
        errors.add("status", t("referral.answer.missing"))
    else:
        r = await _referral(signed, slug, referral_id)
        body: dict[str, Any] = {"status": status}
        if reason:
            body["reason"] = reason
        if reason_code:
            body["reason_code"] = reason_code
        if note:
            body["note"] = note
        sent = await signed.call(
            "referral", "POST", f"/api/v1/referrals/{r['id']}/status", json=body
        )
        if sent.status_code == 200:
            return redirect(f"/referrals/{r['id']}?saved=1")
        if sent.status_code == 404:
            raise HTTPException(404)
        for e in field_errors(sent) if sent.status_code in (409, 422) else []:
            words = _REFUSALS.get(e.code)
            errors.add(_INPUTS.get(e.field, ""), t(words) if words else e.text(lang))
        if not errors:
            errors.add("", t("referral.answer.refused"))
    return await _referral_page(request, w, signed, slug, referral_id, errors=errors, typed=typed)
