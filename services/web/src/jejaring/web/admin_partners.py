"""The admin's partner pages: referral's partners, adding one (its HTTP token and NATS
credentials shown once), new credentials, and deactivating one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.shared.contract.enums import PartnerKind, Service
from jejaring.web import messages
from jejaring.web.admin import DONE, RISKS, one_of, page, partners_of, refusals, require_admin
from jejaring.web.forms import Form
from jejaring.web.pages import Errors, Posted, Signed, Web, WebDep, language, redirect
from jejaring.web.sessions import SignedIn

router = APIRouter(prefix="/admin/partners")

DEFAULT_DEADLINES = {"high": "1", "medium": "6", "low": "72"}  # R4, as referral defaults them
TYPED = (
    "slug",
    "name",
    "kind",
    "contact-name",
    "contact-phone",
    "contact-email",
    "contact-channel",
    "contact-quiet-start",
    "contact-quiet-end",
    "contact-public",
    *(f"deadline-{risk}" for risk in RISKS),
)

# referral's fields → the inputs of the new-partner page
PARTNER_INPUTS = {
    "slug": "slug",
    "name": "name",
    "kind": "kind",
    "services": "services",
    "kelurahan": "kelurahan",
    "contacts.0": "contact-phone",  # "a contact needs a phone or an email"
    "contacts.0.name": "contact-name",
    "contacts.0.phone": "contact-phone",
    "contacts.0.email": "contact-email",
    "contacts.0.preferred_channel": "contact-channel",
    "contacts.0.quiet_hours": "contact-quiet-start",
    "contacts.0.quiet_hours.start": "contact-quiet-start",
    "contacts.0.quiet_hours.end": "contact-quiet-end",
    **{f"deadlines.{risk}": f"deadline-{risk}" for risk in RISKS},
}


def partner_body(form: Form) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """referral's body for a new partner, and what the form itself misses (input, catalogue
    key). Only what reads as a number or a time is checked here; the rest is referral's."""
    body: dict[str, Any] = {
        "slug": form.get("slug"),
        "name": form.get("name"),
        "kind": form.get("kind"),
        "services": form.getlist("services"),
        "kelurahan": form.getlist("kelurahan"),  # none chosen: every kelurahan
    }
    missing: list[tuple[str, str]] = []
    for name in ("slug", "name", "kind", "services"):
        if not body[name]:
            missing.append((name, f"admin.partner.{name}.missing"))
    contact: dict[str, Any] = {
        k: form.get(f"contact-{k}") for k in ("name", "phone", "email") if form.get(f"contact-{k}")
    }
    if contact:
        contact["preferred_channel"] = form.get("contact-channel") or "sms"
        contact["public"] = form.get("contact-public") == "yes"  # in the HSDS directory
        start, end = form.get("contact-quiet-start"), form.get("contact-quiet-end")
        if start or end:  # half of it is referral's to refuse, beside the half that is missing
            contact["quiet_hours"] = {
                **({"start": start} if start else {}),
                **({"end": end} if end else {}),
            }
        body["contacts"] = [contact]
    deadlines: dict[str, float] = {}
    for risk in RISKS:
        typed = form.get(f"deadline-{risk}").replace(",", ".")
        try:
            deadlines[risk] = float(typed or DEFAULT_DEADLINES[risk])
        except ValueError:
            missing.append((f"deadline-{risk}", "admin.partner.deadline.not_a_number"))
    body["deadlines"] = deadlines
    return body, missing


def _form(
    request: Request, w: Web, signed: SignedIn, *, typed: dict[str, Any], errors: Errors | None
) -> Response:
    return page(
        request,
        w,
        signed,
        "admin/partner_new.html",
        errors=errors,
        typed=typed,
        kinds=[(k.value, k.label(language(request, w))) for k in PartnerKind],
        services=[(s.value, s.label(language(request, w))) for s in Service],
        risks=RISKS,
        here="/admin/partners/new",
    )


@router.get("")
async def partners(request: Request, w: WebDep, signed: Signed, done: str = "") -> Response:
    require_admin(signed)
    found = sorted(await partners_of(signed), key=lambda p: (not p["active"], p["name"].lower()))
    return page(
        request,
        w,
        signed,
        "admin/partners.html",
        partners=found,
        notice=DONE.get(done),
        here="/admin/partners",
    )


@router.get("/new")
async def new_partner_page(request: Request, w: WebDep, signed: Signed) -> Response:
    require_admin(signed)
    typed = {**{f"deadline-{r}": v for r, v in DEFAULT_DEADLINES.items()}, "services": []}
    return _form(request, w, signed, typed={**typed, "kelurahan": []}, errors=None)


@router.post("/new")
async def add_partner(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    require_admin(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    typed: dict[str, Any] = {name: form.get(name) for name in TYPED}
    typed.update(services=form.getlist("services"), kelurahan=form.getlist("kelurahan"))
    body, missing = partner_body(form)
    errors = Errors()
    for input_id, key in missing:
        errors.add(input_id, t(key))
    if not errors:
        answer = await signed.call("referral", "POST", "/api/v1/partners", json=body)
        if answer.status_code == 201:
            created = answer.json()
            return _shown_once(request, w, signed, created, created["token"], new=True)
        refusals(answer, lang, PARTNER_INPUTS, errors)
    return _form(request, w, signed, typed=typed, errors=errors)


def _shown_once(
    request: Request,
    w: Web,
    signed: SignedIn,
    partner: dict[str, Any],
    token: str | None,
    *,
    new: bool = False,
) -> Response:
    """The page that shows a partner's new HTTP token, once. NATS keys are not made here: the
    operator makes them where the partner's seed is kept (`jejaring partner credentials`)."""
    return page(
        request,
        w,
        signed,
        "admin/partner_created.html",
        partner=partner,
        token=token,
        new=new,
        here="/admin/partners",
    )


async def _partner(signed: SignedIn, slug: str) -> dict[str, Any]:
    return one_of(await partners_of(signed), "slug", slug)


@router.post("/{slug}/token")
async def new_token(
    slug: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    require_admin(signed)
    partner = await _partner(signed, slug)
    answer = await signed.call("referral", "POST", f"/api/v1/partners/{slug}/token")
    if answer.status_code != 200:
        raise HTTPException(404)
    return _shown_once(request, w, signed, partner, answer.json()["token"])


@router.get("/{slug}/deactivate")
async def deactivate_page(slug: str, request: Request, w: WebDep, signed: Signed) -> Response:
    require_admin(signed)
    partner = await _partner(signed, slug)
    return page(
        request, w, signed, "admin/partner_deactivate.html", partner=partner, here="/admin/partners"
    )


@router.post("/{slug}/deactivate")
async def deactivate(
    slug: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    require_admin(signed)
    partner = await _partner(signed, slug)
    answer = await signed.call("referral", "POST", f"/api/v1/partners/{slug}/deactivate")
    if answer.status_code == 200:
        return redirect("/admin/partners?done=partner_deactivated")
    errors = Errors()
    refusals(answer, language(request, w), {}, errors)
    return page(
        request,
        w,
        signed,
        "admin/partner_deactivate.html",
        partner=partner,
        errors=errors,
        here="/admin/partners",
    )
