"""Constraints on text that the HTTP APIs take and that ends up in an email header, an SMS or
a log line: a person's or a partner's name, an address. Refused with the field named (422)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _one_line(value: str) -> str:
    # Cc: C0 and C1 controls (line feed, carriage return, tab, NUL, …); Zl/Zp: the Unicode line
    # and paragraph separators. None belongs in a name, and a line break in an email header
    # would end it.
    if any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in value):
        raise PydanticCustomError(
            "control_character",
            "Tidak boleh berisi karakter kendali (mis. baris baru atau tab).",
            {"message_en": "Must not contain control characters (such as a line break or a tab)."},
        )
    return value


OneLine = AfterValidator(_one_line)
"""Annotate a `str` field with this: text on one line, without control characters."""

OneLineStr = Annotated[str, OneLine]
