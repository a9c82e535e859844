"""Report's tables: codes, dates and counts, never a name, a phone or a free text."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
