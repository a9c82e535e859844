"""The tests' polling helpers (`jejaring.testing`): what they return and when they give up."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from jejaring.testing import until, until_async, within


def test_within_returns_the_first_truthy_value_without_waiting_out_the_window() -> None:
    answers = iter([None, [], ["asked"], ["asked", "again"]])
    assert within(lambda: next(answers), seconds=60, every=0.01) == ["asked"]
    assert next(answers) == ["asked", "again"]  # not asked again once it had an answer


def test_within_returns_the_last_falsy_value_when_nothing_happens() -> None:
    calls = itertools.count(1)
    seen: list[int] = []

    def never() -> list[int]:
        seen.append(next(calls))
        return []

    assert within(never, seconds=0.1, every=0.01) == []
    assert len(seen) >= 2  # asked again at the end of the window, not only at its start


def test_until_fails_with_its_budget_in_the_message() -> None:
    with pytest.raises(AssertionError, match=r"within 0\.1 s"):
        until(lambda: 0, timeout=0.1, every=0.01)


def test_until_async_awaits_the_predicate_and_returns_its_value() -> None:
    answers = iter([False, False, "routed"])

    async def routed() -> str | bool:
        await asyncio.sleep(0)
        return next(answers)

    assert asyncio.run(until_async(routed, timeout=60, every=0.01)) == "routed"


def test_until_async_fails_after_its_budget() -> None:
    async def never() -> None:
        return None

    with pytest.raises(AssertionError, match=r"within 0\.1 s"):
        asyncio.run(until_async(never, timeout=0.1, every=0.01))
