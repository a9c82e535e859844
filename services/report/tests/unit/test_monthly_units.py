"""The monthly report's small rules: the percentile method, months as WITA windows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jejaring.report.monthly import InvalidMonth, Window, parse_month, percentile

WITA = ZoneInfo("Asia/Makassar")


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([45, 130], 50) == 87.5
    assert percentile([45, 130], 90) == pytest.approx(121.5)
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91)
    assert percentile([7], 90) == 7
    assert percentile([3, 1, 2], 50) == 2  # unsorted input


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 90)


def test_a_month_is_its_wita_days_in_utc() -> None:
    november = Window.of(2026, 11, WITA)
    assert november.start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
    assert november.end == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    assert november.has(dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC))  # 23:30 WITA
    assert not november.has(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC))  # 00:30 1 Dec
    assert Window.of(2026, 12, WITA).end == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    assert (november.label.id, november.label.en) == ("Nov 2026", "Nov 2026")
    assert Window.of(2026, 8, WITA).label.id == "Agu 2026"


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", "2026-11-01", ""])
def test_a_month_that_is_not_yyyy_mm_is_refused_by_name(month: str) -> None:
    with pytest.raises(InvalidMonth, match="month must be YYYY-MM"):
        parse_month(month)
