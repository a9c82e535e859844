"""The partner's inbox order and the time left to accept, from a clock the test names."""

from __future__ import annotations

import datetime as dt

from jejaring.web.partner import _sort_key, countdown

WITA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 31, 23, 56, tzinfo=WITA)


def test_the_time_left_reads_as_people_say_it() -> None:
    assert countdown(NOW + dt.timedelta(hours=3, minutes=20, seconds=30), NOW, "id").text == (
        "sisa 3 jam 20 menit"
    )
    assert countdown(NOW + dt.timedelta(minutes=45), NOW, "en").text == "45 min left"
    assert countdown(NOW + dt.timedelta(days=2, hours=5), NOW, "id").text == "sisa 2 hari 5 jam"
    assert countdown(NOW + dt.timedelta(seconds=20), NOW, "id").text == "sisa kurang dari 1 menit"
    late = countdown((NOW - dt.timedelta(minutes=15, seconds=1)).isoformat(), NOW, "id")
    assert (late.text, late.late) == ("lewat 16 menit", True)
    assert countdown(NOW, NOW, "id").late
    assert countdown(None, NOW, "id").text == ""


def test_open_referrals_first_urgent_first_then_the_soonest_deadline() -> None:
    def r(name: str, status: str, priority: str, deadline_h: float) -> dict[str, str]:
        when = (NOW + dt.timedelta(hours=deadline_h)).isoformat()
        return {
            "id": name,
            "status": status,
            "priority": priority,
            "accept_by": when,
            "updated_at": when,
        }

    rows = [
        r("done-old", "completed", "urgent", -5),
        r("routine-soon", "requested", "routine", 1),
        r("urgent-later", "requested", "urgent", 2),
        r("done-new", "rejected", "routine", -1),
        r("urgent-sooner", "accepted", "urgent", 0.5),
        r("routine-later", "in-progress", "routine", 6),
    ]
    assert [x["id"] for x in sorted(rows, key=_sort_key)] == [
        "urgent-sooner",
        "urgent-later",
        "routine-soon",
        "routine-later",
        "done-new",
        "done-old",
    ]
