"""What counts as a survivor's score, and how few scores are hidden (feedback.py)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from jejaring.notify.feedback import PartnerScores, score_of, summarise
from jejaring.notify.models import Feedback


@pytest.mark.parametrize(("text", "score"), [("4", 4), (" 4 ", 4), ("4.", 4), ("1", 1), ("5!", 5)])
def test_one_digit_from_1_to_5_is_a_score(text: str, score: int) -> None:
    assert score_of(text) == score


@pytest.mark.parametrize("text", ["0", "6", "45", "4/5", "empat", "4 bagus", "", "-1", "4.5"])
def test_anything_else_is_no_score(text: str) -> None:
    assert score_of(text) is None


def _rows(*given: tuple[int, tuple[str, ...]]) -> list[Feedback]:
    today = dt.date(2026, 12, 1)
    return [
        Feedback(id=uuid.uuid4(), score=s, partner_slugs=list(p), received_on=today)
        for s, p in given
    ]


def test_three_scores_or_more_show_their_count_and_mean_to_everyone() -> None:
    rows = _rows((5, ("a",)), (4, ("a", "b")), (2, ("a",)))
    assert summarise(rows, exact=False) == [
        PartnerScores("a", 3, 3.67),
        PartnerScores("b", "<3", None),
    ]
    assert summarise(rows, exact=True)[1] == PartnerScores("b", 1, 4.0)
