"""Posted forms: `application/x-www-form-urlencoded` bodies, read with a size limit.

The pages post plain HTML forms (no file uploads), so the standard library's parser is all
that is needed; a body of another type reads as an empty form.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from fastapi import Request

LIMIT = 256 * 1024  # bytes: a case with 20 victims and a long description fits many times


class FormTooLarge(Exception):
    """The body is larger than LIMIT."""


class Form:
    """The fields of a posted form, in order; a name may repeat (checkboxes)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs = [(k, v) for k, v in pairs]

    def get(self, name: str) -> str:
        """The first value of `name`, stripped, or ""."""
        return next((v.strip() for k, v in self.pairs if k == name), "")

    def raw(self, name: str) -> str:
        """The first value of `name` exactly as typed (passwords are not stripped)."""
        return next((v for k, v in self.pairs if k == name), "")

    def getlist(self, name: str) -> list[str]:
        """Every non-empty value of `name`, in order, without repeats."""
        return list(dict.fromkeys(v.strip() for k, v in self.pairs if k == name and v.strip()))

    def __contains__(self, name: str) -> bool:
        return any(k == name for k, _ in self.pairs)


async def read_form(request: Request) -> Form:
    """The posted form (empty unless urlencoded); FormTooLarge past LIMIT bytes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > LIMIT:
        raise FormTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > LIMIT:
            raise FormTooLarge()
    if kind != "application/x-www-form-urlencoded":
        return Form()
    text = body.decode("utf-8", errors="replace")
    return Form(parse_qsl(text, keep_blank_values=True, max_num_fields=2000))
