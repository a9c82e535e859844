"""The admin's pages: people (intake's users), partners (referral's) and the delivery log
(notify's). Each calls the owning service's admin API with the admin's own access token; a
token or a setup code a service issues is shown once, on the page that answers the POST, and
kept nowhere."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.web import messages
from jejaring.web.forms import Form
from jejaring.web.officer import labeller
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

router = APIRouter(prefix="/admin")

ROLES = ("officer", "coordinator", "admin", "partner_staff", "dpo")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "deferred")
RISKS = ("high", "medium", "low")
DELIVERIES_PER_PAGE = 50
# A message's text never reaches a page, whatever notify's answer holds (R6: it may name a case's
# details); the log shows who was told, how and when.
HIDDEN_DELIVERY_FIELDS = frozenset({"body", "subject", "text", "message"})
DONE = {"deactivated": "admin.done.deactivated", "partner_deactivated": "admin.done.partner_off"}


def require_admin(signed: SignedIn) -> None:
    """Admin pages do not exist for anyone else (the same page as a missing one)."""
    if signed.person.role != "admin":
        raise HTTPException(404)


def _context(request: Request, w: Web) -> dict[str, Any]:
    lang = language(request, w)
    label = labeller(lang)
    return {
        "label": label,
        "when": formatter(lang, w.zone),
        "kelurahan_names": {k.code: k.name for k in w.region.kelurahan},
        "region": w.region,
        "public_url": w.settings.public_url,
        "hours": lambda value: hours(value, lang),
    }


def hours(value: float | int | str, lang: str) -> str:
    """A deadline's hours as people write them: 6, 1,5 (Indonesian) or 1.5."""
    number = float(value)
    text = str(int(number)) if number.is_integer() else f"{number:g}"
    return text.replace(".", ",") if lang == "id" else text


def page(request: Request, w: Web, signed: SignedIn, template: str, **context: Any) -> Response:
    """An admin page, with the labels and formats every admin page uses."""
    return render(request, w, template, signed=signed, **_context(request, w), **context)


def refusals(answer: httpx.Response, lang: str, inputs: dict[str, str], errors: Errors) -> None:
    """A service's refusal, each reason beside its input (`inputs`: the service's field, or its
    first dotted part, → the input's id), the others at the top. Where the catalogue has a
    plainer text for an input and reason (`admin.refusal.<input>.<code>`), that one is shown:
    a summary of two bare "invalid format" lines says nothing."""
    t = messages.translator("en" if lang == "en" else "id")
    for e in field_errors(answer):
        input_id = inputs.get(e.field) or inputs.get(e.field.split(".")[0], "")
        errors.add(input_id, t.get(f"admin.refusal.{input_id}.{e.code}", e.text(lang)))
    if not errors:
        errors.add("", t("admin.refused"))


@router.get("")
async def menu(request: Request, w: WebDep, signed: Signed) -> Response:
    require_admin(signed)
    return page(request, w, signed, "admin/menu.html", here="/admin")


# --- people ---------------------------------------------------------------------------------


def listed(answer: httpx.Response) -> list[dict[str, Any]]:
    """A service's list; anything else (a refusal) shows as a page not found."""
    rows = answer.json() if answer.status_code == 200 else None
    if not isinstance(rows, list):
        raise HTTPException(404)
    return rows


def one_of(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    """The row whose `key` is `value`; none is a page not found."""
    for row in rows:
        if row.get(key) == value:
            return row
    raise HTTPException(404)


async def _people(signed: SignedIn) -> list[dict[str, Any]]:
    return listed(await signed.call("intake", "GET", "/api/v1/users"))


async def partners_of(signed: SignedIn) -> list[dict[str, Any]]:
    """Referral's partners, active or not."""
    return listed(await signed.call("referral", "GET", "/api/v1/partners"))


@router.get("/people")
async def people(request: Request, w: WebDep, signed: Signed, done: str = "") -> Response:
    require_admin(signed)
    found = sorted(await _people(signed), key=lambda p: (not p["active"], p["name"].lower()))
    return page(
        request,
        w,
        signed,
        "admin/people.html",
        people=found,
        notice=DONE.get(done),
        here="/admin/people",
    )


def _person_form(
    request: Request,
    w: Web,
    signed: SignedIn,
    partners: list[dict[str, Any]],
    *,
    typed: dict[str, str],
    errors: Errors | None = None,
) -> Response:
    return page(
        request,
        w,
        signed,
        "admin/person_new.html",
        typed=typed,
        errors=errors,
        roles=ROLES,
        partners=[p for p in partners if p["active"]],
        here="/admin/people/new",
    )


@router.get("/people/new")
async def new_personpage(request: Request, w: WebDep, signed: Signed) -> Response:
    require_admin(signed)
    return _person_form(request, w, signed, await partners_of(signed), typed={})


# intake's fields → the inputs of the new-person page
PERSON_INPUTS = {
    "name": "name",
    "role": "role",
    "kelurahan_code": "kelurahan",
    "partner_slug": "partner",
    "phone": "phone",
    "email": "email",
    "login": "login",
}


def person_body(form: Form) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """intake's body for a new person, and what the form itself misses (input, catalogue key).
    A kelurahan goes with an officer only, a partner with partner staff only."""
    role = form.get("role")
    body: dict[str, Any] = {"name": form.get("name"), "role": role}
    missing: list[tuple[str, str]] = []
    if not body["name"]:
        missing.append(("name", "admin.person.name.missing"))
    if role not in ROLES:
        missing.append(("role", "admin.person.role.missing"))
    if role == "officer":
        if not form.get("kelurahan"):
            missing.append(("kelurahan", "admin.person.kelurahan.missing"))
        body["kelurahan_code"] = form.get("kelurahan")
    if role == "partner_staff":
        if not form.get("partner"):
            missing.append(("partner", "admin.person.partner.missing"))
        body["partner_slug"] = form.get("partner")
    for name in ("phone", "email", "login"):
        if form.get(name):
            body[name] = form.get(name)
    if "login" not in body and "phone" not in body:
        missing.append(("login", "admin.person.login.missing"))
    return body, missing


@router.post("/people/new")
async def create_person(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    require_admin(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    typed = {
        k: form.get(k) for k in ("name", "role", "kelurahan", "partner", "phone", "email", "login")
    }
    body, missing = person_body(form)
    errors = Errors()
    for input_id, key in missing:
        errors.add(input_id, t(key))
    if not errors:
        answer = await signed.call("intake", "POST", "/api/v1/users", json=body)
        if answer.status_code == 201:
            return page(
                request,
                w,
                signed,
                "admin/person_created.html",
                created=answer.json(),
                here="/admin/people",
            )
        refusals(answer, lang, PERSON_INPUTS, errors)
    return _person_form(request, w, signed, await partners_of(signed), typed=typed, errors=errors)


async def _person(signed: SignedIn, person_id: str, *, not_self: bool = False) -> dict[str, Any]:
    """One person of intake's list; `not_self`: not the admin who asks (nobody locks
    themselves out by a tap)."""
    if not_self and person_id == signed.person.id:
        raise HTTPException(404)
    return one_of(await _people(signed), "id", person_id)


@router.post("/people/{person_id}/setup-code")
async def new_setup_code(
    person_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    require_admin(signed)
    person = await _person(signed, person_id)
    answer = await signed.call("intake", "POST", f"/api/v1/users/{person_id}/setup-code")
    errors = Errors()
    if answer.status_code != 200:
        refusals(answer, language(request, w), {}, errors)
    return page(
        request,
        w,
        signed,
        "admin/setup_code.html",
        errors=errors,
        who=person,
        issued=answer.json() if answer.status_code == 200 else None,
        here="/admin/people",
    )


@router.get("/people/{person_id}/deactivate")
async def deactivate_person_page(
    person_id: str, request: Request, w: WebDep, signed: Signed
) -> Response:
    require_admin(signed)
    person = await _person(signed, person_id, not_self=True)
    return page(
        request, w, signed, "admin/person_deactivate.html", who=person, here="/admin/people"
    )


@router.post("/people/{person_id}/deactivate")
async def deactivate_person(
    person_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    require_admin(signed)
    person = await _person(signed, person_id, not_self=True)
    answer = await signed.call("intake", "POST", f"/api/v1/users/{person_id}/deactivate")
    if answer.status_code == 200:
        return redirect("/admin/people?done=deactivated")
    errors = Errors()
    refusals(answer, language(request, w), {}, errors)
    return page(
        request,
        w,
        signed,
        "admin/person_deactivate.html",
        who=person,
        errors=errors,
        here="/admin/people",
    )


# --- the delivery log -------------------------------------------------------------------------


@router.get("/deliveries")
async def deliveries(request: Request, w: WebDep, signed: Signed) -> Response:
    """notify's log, newest first, filtered by case and status; never a message's text."""
    require_admin(signed)
    q = request.query_params
    filters = {"case_reference": q.get("case_reference", "").strip(), "status": q.get("status", "")}
    number = q.get("page", "")
    at = int(number) if number.isdigit() and 0 < int(number) < 10_000 else 1
    errors = Errors()
    rows: list[dict[str, Any]] = []
    answer = await signed.call(
        "notify", "GET", "/api/v1/deliveries", params={k: v for k, v in filters.items() if v}
    )
    if answer.status_code == 200:
        rows = list(reversed(answer.json()))
    else:
        inputs = {"case_reference": "filter-case_reference", "status": "filter-status"}
        refusals(answer, language(request, w), inputs, errors)
    pages = max(1, -(-len(rows) // DELIVERIES_PER_PAGE))
    shown = [
        {k: v for k, v in row.items() if k not in HIDDEN_DELIVERY_FIELDS}
        for row in rows[(at - 1) * DELIVERIES_PER_PAGE : at * DELIVERIES_PER_PAGE]
    ]
    return page(
        request,
        w,
        signed,
        "admin/deliveries.html",
        errors=errors,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
        statuses=DELIVERY_STATUSES,
        rows=shown,
        total=len(rows),
        page_number=at,
        pages=pages,
    )
