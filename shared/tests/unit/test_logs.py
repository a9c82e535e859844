"""Logs carry ids and field names, never the values people typed."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from jejaring.shared.contract.events import Victim
from jejaring.shared.logs import JsonFormatter, Sparse

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


def test_a_line_outsiders_can_cause_at_full_speed_is_let_through_once_a_while() -> None:
    now = [100.0]
    sparse = Sparse(seconds=1.0, clock=lambda: now[0])
    assert sparse.allow("posbakum-aisyiyah") == 0
    now[0] += 0.5
    assert [sparse.allow("posbakum-aisyiyah") for _ in range(3)] == [None, None, None]
    assert sparse.allow("polresta-ppa") == 0  # each key on its own
    now[0] += 0.5  # quiet for exactly one second
    assert sparse.allow("posbakum-aisyiyah") == 3  # with the count of those held back
    assert sparse.allow("posbakum-aisyiyah") is None
