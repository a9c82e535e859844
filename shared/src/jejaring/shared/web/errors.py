"""HTTP errors people can act on: each names the field and the reason, in Bahasa Indonesia and
English, and never echoes what was sent (it may be a victim's name).

Every error body has the same shape:

    {"detail": [{"field": "victims.0.birth_date", "code": "date_in_future",
                 "message": "…(id)…", "message_en": "…(en)…"}]}
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jejaring.shared.db import is_transient_db_error
from jejaring.shared.refusals import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Refusal,
    Unauthenticated,
    Unavailable,
)
from jejaring.shared.refusals import FieldError as FieldError  # where the API edge has it

log = logging.getLogger(__name__)

# The one place a domain refusal becomes an HTTP status.
REFUSAL_STATUS: dict[type[Refusal], int] = {
    Invalid: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unauthenticated: 401,
    Unavailable: 503,
}


def status_of(refusal: Refusal) -> int:
    """The HTTP status of a refusal: that of the nearest kind in REFUSAL_STATUS."""
    for kind in type(refusal).__mro__:
        if kind in REFUSAL_STATUS:
            return REFUSAL_STATUS[kind]
    return 422


class ApiError(Exception):
    """An HTTP-level error (authentication, transport) answered with `status` and FieldErrors.
    Business rules raise `refusals.Refusal` instead."""

    def __init__(self, status: int, errors: Sequence[FieldError]) -> None:
        super().__init__(errors[0].message_en if errors else str(status))
        self.status = status
        self.errors = list(errors)


def api_error(status: int, field: str, code: str, message: str, message_en: str) -> ApiError:
    return ApiError(status, [FieldError(field, code, message, message_en)])


def unauthorized() -> ApiError:
    return api_error(
        401,
        "authorization",
        "unauthenticated",
        "Token tidak ada atau tidak valid. Kirim header 'Authorization: Bearer <token>'.",
        "Missing or invalid token. Send 'Authorization: Bearer <token>'.",
    )


def token_expired() -> ApiError:
    """An API token that was valid and has run out (a user's after its lifetime, a partner's
    previous one after the grace of a rotation): a clear reason, so that its holder asks for a
    new one instead of looking for a typo."""
    return api_error(
        401,
        "authorization",
        "token_expired",
        "Token API ini sudah kedaluwarsa. Minta token baru kepada admin.",
        "This API token has expired. Ask the admin for a new one.",
    )


def forbidden(message: str, message_en: str) -> ApiError:
    return api_error(403, "authorization", "forbidden", message, message_en)


def not_found(what: str, what_en: str) -> ApiError:
    return api_error(404, "id", "not_found", f"{what} tidak ditemukan.", f"{what_en} not found.")


# pydantic error type -> (Indonesian, English); {placeholders} come from the error's ctx only.
_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Wajib diisi.", "This field is required."),
    "extra_forbidden": ("Kolom ini tidak dikenal.", "This field is not recognised."),
    "string_too_long": (
        "Terlalu panjang: paling banyak {max_length} karakter.",
        "Too long: at most {max_length} characters.",
    ),
    "string_too_short": (
        "Terlalu pendek: paling sedikit {min_length} karakter.",
        "Too short: at least {min_length} characters.",
    ),
    "too_long": ("Terlalu banyak: paling banyak {max_length}.", "Too many: at most {max_length}."),
    "too_short": ("Paling sedikit {min_length} harus diisi.", "At least {min_length} required."),
    "enum": (
        "Nilai tidak dikenal. Pilihan: {expected}.",
        "Unknown value. Choose from: {expected}.",
    ),
    "literal_error": (
        "Nilai tidak dikenal. Pilihan: {expected}.",
        "Unknown value. Choose from: {expected}.",
    ),
    "string_type": ("Harus berupa teks.", "Must be text."),
    "string_pattern_mismatch": ("Format tidak sesuai.", "Wrong format."),
    "int_type": ("Harus berupa bilangan bulat.", "Must be a whole number."),
    "int_parsing": ("Harus berupa bilangan bulat.", "Must be a whole number."),
    "int_from_float": ("Harus berupa bilangan bulat.", "Must be a whole number."),
    "float_parsing": ("Harus berupa angka.", "Must be a number."),
    "greater_than_equal": ("Paling kecil {ge}.", "Must be at least {ge}."),
    "greater_than": ("Harus lebih dari {gt}.", "Must be more than {gt}."),
    "less_than_equal": ("Paling besar {le}.", "Must be at most {le}."),
    "less_than": ("Harus kurang dari {lt}.", "Must be less than {lt}."),
    "bool_type": ("Harus true atau false.", "Must be true or false."),
    "bool_parsing": ("Harus true atau false.", "Must be true or false."),
    "list_type": ("Harus berupa daftar.", "Must be a list."),
    "dict_type": ("Harus berupa objek.", "Must be an object."),
    "model_type": ("Harus berupa objek.", "Must be an object."),
    "model_attributes_type": ("Harus berupa objek.", "Must be an object."),
    "date_type": ("Harus berupa tanggal (YYYY-MM-DD).", "Must be a date (YYYY-MM-DD)."),
    "date_parsing": ("Tanggal tidak valid (YYYY-MM-DD).", "Not a valid date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": (
        "Tanggal tidak valid (YYYY-MM-DD).",
        "Not a valid date (YYYY-MM-DD).",
    ),
    "date_from_datetime_inexact": (
        "Harus berupa tanggal tanpa jam.",
        "Must be a date without a time.",
    ),
    "datetime_type": (
        "Harus berupa waktu ISO 8601, mis. 2026-11-20T09:00:00+08:00.",
        "Must be an ISO 8601 time, e.g. 2026-11-20T09:00:00+08:00.",
    ),
    "datetime_parsing": (
        "Waktu tidak valid; gunakan ISO 8601, mis. 2026-11-20T09:00:00+08:00.",
        "Not a valid time; use ISO 8601, e.g. 2026-11-20T09:00:00+08:00.",
    ),
    "datetime_from_date_parsing": (
        "Waktu tidak valid; gunakan ISO 8601, mis. 2026-11-20T09:00:00+08:00.",
        "Not a valid time; use ISO 8601, e.g. 2026-11-20T09:00:00+08:00.",
    ),
    "uuid_parsing": ("Bukan ID yang valid.", "Not a valid id."),
    "uuid_type": ("Bukan ID yang valid.", "Not a valid id."),
    "json_invalid": (
        "Isi permintaan bukan JSON yang valid.",
        "The request body is not valid JSON.",
    ),
    "json_type": ("Isi permintaan bukan JSON yang valid.", "The request body is not valid JSON."),
    "set_item_not_hashable": ("Nilai ganda tidak valid.", "Invalid repeated value."),
    "list_unique": ("Ada nilai yang berulang.", "Values must not repeat."),
}
_FALLBACK = ("Nilai tidak valid.", "Invalid value.")


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _format(template: str, ctx: dict[str, Any]) -> str:
    safe = {k: v for k, v in ctx.items() if isinstance(v, str | int | float)}
    try:
        return template.format(**safe)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip(" :.") + "."


def translate(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    """pydantic errors -> FieldErrors, without the input values."""
    out: list[FieldError] = []
    for e in errors:
        ctx = dict(e.get("ctx") or {})
        if "message_en" in ctx:  # our own rules carry both languages
            out.append(
                FieldError(_field(e["loc"]), e["type"], str(e["msg"]), str(ctx["message_en"]))
            )
            continue
        id_t, en_t = _MESSAGES.get(e["type"], _FALLBACK)
        field = "body" if e["type"] == "json_invalid" else _field(e["loc"])
        out.append(FieldError(field, e["type"], _format(id_t, ctx), _format(en_t, ctx)))
    return out


def error_response(
    status: int, errors: Sequence[FieldError], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"detail": [asdict(e) for e in errors]}, status_code=status, headers=headers
    )


@dataclass(frozen=True)
class Larger:
    """A POST route (`path`, a regular expression matched whole) that takes more than the body
    limit: an upload route, which bounds its own reading. Past `limit` the answer is 413 with
    `refusal` (naming the upload's field and its own limit, not the body's)."""

    path: re.Pattern[str]
    limit: int
    refusal: FieldError


class BodySizeLimit:
    """Refuse bodies over `limit` bytes (or a `larger` route's own) with 413, before they are
    read into memory."""

    def __init__(self, app: ASGIApp, limit: int, larger: Sequence[Larger] = ()) -> None:
        self.app = app
        self.limit = limit
        self.larger = tuple(larger)

    def _refusal(self, scope: Scope) -> tuple[int, FieldError]:
        """The limit of this request's route, and the refusal past it."""
        if scope.get("method") == "POST":
            path = str(scope.get("path", ""))
            for route in self.larger:
                if route.path.fullmatch(path):
                    return route.limit, route.refusal
        kb = self.limit // 1024
        return self.limit, FieldError(
            "body",
            "body_too_large",
            f"Isi permintaan terlalu besar: paling banyak {kb} KB.",
            f"The request body is too large: at most {kb} KB.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, refusal = self._refusal(scope)

        async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
            await error_response(413, [refusal])(scope, receive, send)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass


def install_error_handlers(
    app: FastAPI, *, body_limit: int = 256 * 1024, larger: Sequence[Larger] = ()
) -> None:
    """Uniform bilingual error bodies; no 500 leaks a traceback or an input value."""

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.errors, headers)

    @app.exception_handler(Refusal)
    async def on_refusal(_request: Request, exc: Refusal) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.errors, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, translate(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        texts = {
            400: (
                "Isi permintaan tidak dapat dibaca (harus JSON dalam UTF-8).",
                "The request body could not be read (must be UTF-8 JSON).",
            ),
            404: ("Alamat tidak ditemukan.", "Not found."),
            405: ("Metode tidak diizinkan untuk alamat ini.", "Method not allowed here."),
        }
        message, message_en = texts.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        field = "body" if exc.status_code == 400 else "request"
        return error_response(
            exc.status_code, [FieldError(field, "http_error", message, message_en)]
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_transient_db_error(exc):
            log.warning(
                "database unavailable",
                extra={"path": request.url.path, "error": type(exc).__name__},
            )
            return error_response(
                503,
                [
                    FieldError(
                        "request",
                        "database_unavailable",
                        "Basis data sedang tidak dapat dihubungi; tidak ada yang tersimpan. Coba lagi sebentar.",
                        "The database cannot be reached right now; nothing was saved. Try again shortly.",
                    )
                ],
                headers={"Retry-After": "5"},
            )
        log.error(
            "unhandled error",
            extra={"path": request.url.path, "error": type(exc).__name__},
            exc_info=exc,
        )
        return error_response(
            500,
            [
                FieldError(
                    "request",
                    "internal_error",
                    "Terjadi kesalahan di server; data Anda tidak disimpan sebagian. Coba lagi.",
                    "A server error occurred; nothing was half-saved. Please try again.",
                )
            ],
        )

    app.add_middleware(BodySizeLimit, limit=body_limit, larger=larger)
