"""Signing in and out, setting a password with the one-time code, and the language switch."""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    Web,
    WebDep,
    anonymous_form,
    current,
    language,
    redirect,
    set_cookie,
    set_language,
    translator_for,
)
from jejaring.web.security import safe_next
from jejaring.web.sessions import Person, tokens_from
from jejaring.web.upstream import Unreachable, field_errors

log = logging.getLogger(__name__)
router = APIRouter()

NOTICES = {"password_set": "notice.password_set", "signed_out": "notice.signed_out"}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _attempt(
    request: Request, w: Web, path: str, body: dict[str, str], errors: Errors
) -> httpx.Response | None:
    """Intake's answer to a sign-in or a set-password, or None: when this address has failed
    too often (intake is not asked, and the page answers exactly as for a wrong password), or
    when intake does not answer (then `errors` says so)."""
    if await w.store.too_many_failures(client_address(request)):
        log.warning("refused: too many failures from this address", extra={"path": path})
        return None
    try:
        return await w.upstream.call("intake", "POST", path, json=body)
    except Unreachable:
        errors.add("", translator_for(request, w)("unavailable.body"))
        return None


@router.get("/sign-in")
async def sign_in_page(request: Request, w: WebDep, next: str = "", done: str = "") -> Response:
    if await current(request, w) is not None:
        return redirect(safe_next(next) or "/")
    return anonymous_form(
        request,
        w,
        "account/sign_in.html",
        login="",
        next=safe_next(next) or "",
        notice=NOTICES.get(done),
        here=request.url.path,
    )


@router.post("/sign-in")
async def sign_in(request: Request, w: WebDep, form: Posted) -> Response:
    login, password = form.get("login"), form.raw("password")
    back_to = safe_next(form.get("next")) or ""
    t = translator_for(request, w)
    errors = Errors()
    if not login:
        errors.add("login", t("sign_in.login_missing"))
    if not password:
        errors.add("password", t("sign_in.password_missing"))

    def again(status: int) -> Response:
        return anonymous_form(
            request,
            w,
            "account/sign_in.html",
            status=status,
            errors=errors,
            login=login,
            next=back_to,
            notice=None,
            here="/sign-in",
        )

    if errors:
        return again(200)
    answer = await _attempt(
        request, w, "/api/v1/auth/sign-in", {"login": login, "password": password}, errors
    )
    if answer is None or answer.status_code != 200:
        if answer is not None:
            await w.store.record_failure(client_address(request))
        if not errors:
            errors.add("login", t("sign_in.failed"))
        return again(503 if errors.of("") else 200)
    body = answer.json()
    who = body["person"]
    person = Person(
        id=str(who["id"]),
        name=str(who.get("name") or ""),
        role=str(who["role"]),
        kelurahan_code=who.get("kelurahan_code"),
        partner_slug=who.get("partner_slug"),
    )
    session_id = await w.store.create(tokens_from(body, w.clock()), person)
    log.info("signed in", extra={"person_id": person.id, "role": person.role})
    response = redirect(back_to or "/")
    set_cookie(response, w, w.session_cookie, session_id)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    await signed.sign_out()
    response = redirect("/sign-in?done=signed_out")
    response.delete_cookie(w.session_cookie, path="/")
    return response


@router.get("/set-password")
async def set_password_page(request: Request, w: WebDep) -> Response:
    return anonymous_form(
        request, w, "account/set_password.html", login="", code="", here=request.url.path
    )


# Where intake's field names land on this page's inputs.
SETUP_FIELDS = {"login": "login", "code": "code", "password": "password"}


@router.post("/set-password")
async def set_password(request: Request, w: WebDep, form: Posted) -> Response:
    login, code = form.get("login"), form.get("code")
    password, again_ = form.raw("password"), form.raw("password_again")
    t = translator_for(request, w)
    lang = language(request, w)
    errors = Errors()
    if not login:
        errors.add("login", t("sign_in.login_missing"))
    if not code:
        errors.add("code", t("set_password.code_missing"))
    if not password:
        errors.add("password", t("set_password.password_missing"))
    elif password != again_:
        errors.add("password_again", t("set_password.mismatch"))

    def again(status: int) -> Response:
        return anonymous_form(
            request,
            w,
            "account/set_password.html",
            status=status,
            errors=errors,
            login=login,
            code=code,
            here="/set-password",
        )

    if errors:
        return again(200)
    answer = await _attempt(
        request,
        w,
        "/api/v1/auth/setup",
        {"login": login, "code": code, "password": password},
        errors,
    )
    if answer is None:
        if not errors:
            errors.add("code", t("set_password.failed"))
        return again(503 if errors.of("") else 200)
    if answer.status_code in (200, 201, 204):
        return redirect("/sign-in?done=password_set")
    named = [e for e in field_errors(answer) if e.field in ("password",)]
    if answer.status_code == 422 and named:
        for e in named:
            errors.add(SETUP_FIELDS[e.field], e.text(lang))
        return again(200)
    await w.store.record_failure(client_address(request))
    errors.add("code", t("set_password.failed"))
    return again(200)


@router.get("/language/{lang}")
async def switch_language(request: Request, lang: str, w: WebDep, next: str = "") -> Response:
    response = redirect(safe_next(next) or "/")
    set_language(request, w, lang)(response)
    return response
