"""What every page shares: the app's parts, the person's language, rendering, who is signed in,
and the answers to a missing session, a stale form or a service that does not answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from jejaring.shared.contract.enums import Lang
from jejaring.shared.region import Region
from jejaring.web import messages
from jejaring.web.forms import Form, FormTooLarge, read_form
from jejaring.web.security import new_csrf_token, same_csrf
from jejaring.web.sessions import Clock, SessionEnded, SessionStore, SignedIn
from jejaring.web.settings import WebSettings
from jejaring.web.upstream import ServiceName, Unreachable, Upstream

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "jejaring_lang"
ANON_CSRF_COOKIE = "jejaring_csrf"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class PageError:
    """An error shown in the summary at the top, linking to its field, and beside the field."""

    field: str  # the id of the input it belongs to ("" for the page as a whole)
    text: str


@dataclass
class Errors:
    items: list[PageError] = field(default_factory=list)

    def add(self, field_id: str, text: str) -> None:
        if not any(e.field == field_id and e.text == text for e in self.items):
            self.items.append(PageError(field_id, text))

    def of(self, field_id: str) -> str:
        """Every error of one field, joined (usually one)."""
        return " ".join(e.text for e in self.items if e.field == field_id)

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True)
class Web:
    settings: WebSettings
    region: Region
    store: SessionStore
    upstream: Upstream
    clock: Clock
    env: Environment

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.region.timezone)

    @property
    def session_cookie(self) -> str:
        # The __Host- prefix binds the cookie to this host and path / (browsers insist on Secure).
        return "__Host-jejaring_session" if self.settings.secure_cookies else "jejaring_session"

    def now_local(self) -> dt.datetime:
        return self.clock().astimezone(self.zone)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


async def web(request: Request) -> Web:
    w: Web = request.app.state.web
    return w


WebDep = Annotated[Web, Depends(web)]


def language(request: Request, w: Web) -> Lang:
    """The person's language: the switch's cookie, else the default (Bahasa Indonesia)."""
    chosen = getattr(request.state, "lang", None) or request.cookies.get(LANG_COOKIE)
    if chosen in ("id", "en"):
        return "en" if chosen == "en" else "id"
    return w.settings.default_language


def translator_for(request: Request, w: Web) -> messages.Translator:
    return messages.translator(language(request, w))


def set_language(request: Request, w: Web, chosen: str) -> Callable[[Response], None]:
    """Switch this request's pages to `chosen`; the returned function keeps it in a cookie."""
    lang: Lang = "en" if chosen == "en" else "id"
    request.state.lang = lang

    def keep(response: Response) -> None:
        set_cookie(response, w, LANG_COOKIE, lang, max_age=LANGUAGE_COOKIE_AGE)

    return keep


class SignInRequired(Exception):
    """No live session: the person is sent to sign in, and back here afterwards."""

    def __init__(self, back_to: str | None) -> None:
        self.back_to = back_to


class StaleForm(Exception):
    """A POST without the right CSRF token (an old page, or another site's form)."""


async def current(request: Request, w: WebDep) -> SignedIn | None:
    """The live session of this request, if any (memoised on the request)."""
    if "signed_in" not in request.state._state:
        request.state.signed_in = await w.store.load(request.cookies.get(w.session_cookie))
    signed: SignedIn | None = request.state.signed_in
    return signed


def _back_to(request: Request) -> str | None:
    if request.method != "GET":
        return None
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


async def signed_in(request: Request, w: WebDep) -> SignedIn:
    signed = await current(request, w)
    if signed is None:
        raise SignInRequired(_back_to(request))
    return signed


Signed = Annotated[SignedIn, Depends(signed_in)]


async def posted(request: Request, w: WebDep) -> Form:
    """The posted form, if its CSRF token is the session's (or, signed out, the cookie's)."""
    form = await read_form(request)
    signed = await current(request, w)
    expected = signed.csrf_token if signed else request.cookies.get(ANON_CSRF_COOKIE)
    if not same_csrf(form.get("csrf"), expected):
        raise StaleForm()
    return form


Posted = Annotated[Form, Depends(posted)]


def render(
    request: Request,
    w: Web,
    template: str,
    *,
    status: int = 200,
    errors: Errors | None = None,
    signed: SignedIn | None = None,
    here: str | None = None,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page in the person's language. `here` is where the language switch returns to."""
    lang = language(request, w)
    signed = signed if signed is not None else getattr(request.state, "signed_in", None)
    person = signed.person if signed else None
    kelurahan = (
        w.region.kelurahan_by_code(person.kelurahan_code)
        if person and person.kelurahan_code
        else None
    )
    html = w.env.get_template(template).render(
        t=messages.translator(lang),
        lang=lang,
        other_lang="en" if lang == "id" else "id",
        person=person,
        kelurahan_name=kelurahan.name if kelurahan else "",
        csrf=csrf or (signed.csrf_token if signed else ""),
        here=quote(here if here is not None else _back_to(request) or "/", safe="/?=&"),
        errors=errors or Errors(),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def anonymous_form(
    request: Request, w: Web, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page with a form for someone not signed in: its CSRF token is a random value also set
    as a cookie (double submit), kept while the cookie lasts."""
    token = request.cookies.get(ANON_CSRF_COOKIE) or ""
    if len(token) < 20 or len(token) > 100:
        token = new_csrf_token()
    response = render(request, w, template, status=status, csrf=token, **context)
    set_cookie(response, w, ANON_CSRF_COOKIE, token)
    return response


def set_cookie(
    response: Response, w: Web, name: str, value: str, *, max_age: int | None = None
) -> None:
    """Every cookie of the web app: HttpOnly (no script reads it), SameSite=Lax, the whole
    site, and Secure when people reach it over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=w.settings.secure_cookies,
        path="/",
    )


async def passed_on(
    signed: SignedIn, service: ServiceName, path: str, *, params: dict[str, str] | None = None
) -> Response:
    """A service's download passed on: the bytes, their type and file name, never stored (the
    security headers add no-store and nosniff to every answer); anything else not found."""
    answer = await signed.call(service, "GET", path, params=params)
    if answer.status_code != 200:
        raise StarletteHTTPException(404)
    return Response(
        content=answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={
            "Content-Disposition": answer.headers.get("content-disposition", "attachment"),
            "Cache-Control": "no-store",
        },
    )


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def install_handlers(app: FastAPI) -> None:
    """The pages a person sees when something is not as expected."""

    @app.exception_handler(SignInRequired)
    async def on_sign_in_required(request: Request, exc: SignInRequired) -> Response:
        target = "/sign-in"
        if exc.back_to and exc.back_to != "/":
            target += "?next=" + quote(exc.back_to, safe="")
        response = redirect(target)
        response.delete_cookie(request.app.state.web.session_cookie, path="/")
        return response

    @app.exception_handler(SessionEnded)
    async def on_session_ended(request: Request, exc: SessionEnded) -> Response:
        return await on_sign_in_required(request, SignInRequired(_back_to(request)))

    @app.exception_handler(StaleForm)
    async def on_stale_form(request: Request, exc: StaleForm) -> Response:
        w: Web = request.app.state.web
        return render(request, w, "errors/stale_form.html", status=403, here="/")

    @app.exception_handler(FormTooLarge)
    async def on_too_large(request: Request, exc: FormTooLarge) -> Response:
        w: Web = request.app.state.web
        return render(request, w, "errors/too_large.html", status=413, here="/")

    @app.exception_handler(Unreachable)
    async def on_unreachable(request: Request, exc: Unreachable) -> Response:
        w: Web = request.app.state.web
        return render(request, w, "errors/unavailable.html", status=503)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        w: Web = request.app.state.web
        if exc.status_code == 404:
            return render(request, w, "errors/not_found.html", status=404, here="/")
        if exc.status_code == 405:
            return redirect("/")
        return render(request, w, "errors/unavailable.html", status=exc.status_code, here="/")


def _date_text(lang: Lang, date: dt.date) -> str:
    return f"{date.day} {messages.month(date.month, lang)} {date.year}"


def day_formatter(lang: Lang) -> Callable[[dt.date | str | None], str]:
    """Dates as people read them: 19 November 2026 (a text that is no date stays as it is)."""

    def day(value: dt.date | str | None) -> str:
        if not value:
            return "–"
        try:
            return _date_text(
                lang, dt.date.fromisoformat(value) if isinstance(value, str) else value
            )
        except ValueError:
            return str(value)

    return day


def formatter(lang: Lang, zone: ZoneInfo) -> Callable[[dt.datetime | str | None], str]:
    """Times as people read them: 19 November 2026, 09.00 WITA (a time without an offset is
    read in the region's zone)."""

    def when(value: dt.datetime | str | None) -> str:
        if not value:
            return "–"
        try:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return str(value)
        local = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(zone)
        return f"{_date_text(lang, local.date())}, {local:%H.%M} WITA"

    return when
