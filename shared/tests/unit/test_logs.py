"""Logs carry ids and field names, never the values people typed."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from jejaring.shared import db
from jejaring.shared.contract.events import Victim
from jejaring.shared.logs import JsonFormatter

NAME = "Putri Ayu Lestari"


def formatted(exc: BaseException) -> str:
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "handler failed", None, (type(exc), exc, exc.__traceback__)
    )
    return JsonFormatter("test").format(record)


def test_a_validation_error_is_logged_with_its_fields_not_its_values() -> None:
    with pytest.raises(ValidationError) as caught:
        Victim.model_validate({"name": NAME, "sex": "robot", "age_group": NAME, "is_child": True})
    line = formatted(caught.value)
    assert NAME not in line
    assert "ValidationError at: sex, age_group" in json.loads(line)["exc"]


def test_database_errors_do_not_carry_statement_parameters(tmp_path: Path) -> None:
    async def clash() -> IntegrityError:
        engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE v (name TEXT UNIQUE)"))
                await conn.execute(text("INSERT INTO v VALUES (:n)"), {"n": NAME})
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO v VALUES (:n)"), {"n": NAME})
        except IntegrityError as exc:
            return exc
        finally:
            await engine.dispose()
        raise AssertionError("expected a unique violation")

    exc = asyncio.run(clash())
    assert NAME not in str(exc)
    assert NAME not in formatted(exc)
