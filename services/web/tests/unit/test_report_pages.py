"""The report pages' pure parts: which months the picker offers, how times and counts read, and
what of a chart's SVG reaches a page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jejaring.web import messages
from jejaring.web.pages import Errors, environment
from jejaring.web.reports import (
    default_month,
    duration,
    labelled,
    number,
    percent,
    recent_months,
    valid_month,
)
from jejaring.web.svg import plain_svg

TODAY = dt.date(2026, 1, 15)


def test_the_picker_lists_this_month_and_the_ones_before_and_defaults_to_the_last_whole_one() -> (
    None
):
    months = recent_months(TODAY)
    assert months[:3] == ["2026-01", "2025-12", "2025-11"]
    assert len(months) == 24 and months[-1] == "2024-02"
    assert default_month(TODAY) == "2025-12"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2025-12", True),
        ("2026-01", True),
        ("2019-03", True),
        ("2026-02", False),  # not begun yet
        ("2025-13", False),
        ("2025-1", False),
        ("25-12", False),
        ("2025-12-01", False),
        ("", False),
        ("<script>", False),
    ],
)
def test_a_month_in_the_address_is_checked(value: str, valid: bool) -> None:
    assert valid_month(value, TODAY) is valid


@pytest.mark.parametrize(
    ("minutes", "lang", "text"),
    [
        (None, "id", "–"),
        (0.4, "id", "< 1 menit"),
        (45, "id", "45 menit"),
        (125, "id", "2 jam 5 menit"),
        (125, "en", "2 h 5 min"),
        (60, "id", "1 jam"),
        (24 * 60 + 3 * 60 + 7, "id", "1 hari 3 jam"),
        (2 * 24 * 60, "en", "2 d"),
    ],
)
def test_partner_timings_read_as_hours_and_minutes(
    minutes: float | None, lang: str, text: str
) -> None:
    assert duration(minutes, lang) == text  # type: ignore[arg-type]


def test_counts_and_percentages_read_in_the_persons_language() -> None:
    assert number(1234, "id") == "1.234"
    assert number(1234, "en") == "1,234"
    assert number("<3", "id") == "<3"
    assert number("x", "en") == "x"
    assert number(None, "id") == "–"
    assert percent(12.5, "id") == "12,5%"
    assert percent(12.5, "en") == "12.5%"
    assert percent(40.0, "id") == "40%"


CHART = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="600" height="300" onload="alert(1)" aria-labelledby="t">
  <title id="t">Korban menurut bentuk kekerasan</title>
  <style>rect { fill: red }</style>
  <script>alert(2)</script>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
  <a xlink:href="javascript:alert(3)"><text>link</text></a>
  <g transform="translate(10,10)">
    <rect x="0" y="0" width="40" height="120" style="fill:#6a1b6e;cursor:pointer" onclick="x()"/>
    <rect x="50" y="0" width="40" height="80" fill="url(https://example.org/x)"/>
    <text x="0" y="140" font-size="12">Fisik &amp; psikis &lt;3</text>
    <image href="https://example.org/a.png"/>
  </g>
</svg>"""


def test_a_chart_keeps_its_drawing_and_nothing_that_could_act() -> None:
    svg = plain_svg(CHART, prefix="chart-forms-")
    assert svg is not None
    text = str(svg)
    assert text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    for gone in ("onload", "onclick", "script", "alert", "foreignObject", "xhtml", "<style",
                 "style=", "javascript", "href", "example.org", "image", "cursor", "<a"):  # fmt: skip
        assert gone not in text, gone
    assert 'fill="#6a1b6e"' in text  # the style attribute's colour, as an attribute
    assert 'viewBox="0 0 600 300"' in text
    assert 'aria-labelledby="chart-forms-t"' in text and 'id="chart-forms-t"' in text
    assert "Korban menurut bentuk kekerasan" in text
    assert "Fisik &amp; psikis &lt;3" in text
    assert text.count("<rect") == 2


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>not a chart</body></html>",
        b"not xml at all",
        b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',  # no size: cannot be scaled
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">' + b" " * 600_000 + b"</svg>",
    ],
)
def test_what_is_not_a_plain_svg_is_refused(data: bytes) -> None:
    assert plain_svg(data, prefix="c-") is None


def _label(code: str, id_: str, en: str) -> dict[str, str]:
    return {"code": code, "id": id_, "en": en}


FEMALE, MALE = _label("female", "Perempuan", "Female"), _label("male", "Laki-laki", "Male")
REPORT: dict[str, Any] = {
    "month": "2025-12",
    "kecamatan": _label("64.71.04", "Balikpapan Tengah", "Balikpapan Tengah"),
    "generated_at": "2026-01-02T01:00:00+00:00",
    "exact": False,
    "tables": [
        {
            "key": "victims_by_age_sex",
            "title": _label("victims_by_age_sex", "Korban per umur", "Victims by age"),
            "unit": _label("victims", "korban", "victims"),
            "rows": [_label("6-12", "6-12", "6-12"), _label("25-44", "25-44", "25-44")],
            "columns": [FEMALE, MALE],
            "cells": [["<3", 0], [4, "x"]],
            "row_totals": ["<3", "x"],
            "column_totals": [6, "x"],
            "grand_total": 7,
            "note": None,
        }
    ],
    "timings": [
        {
            "partner": _label("bikksa", "BIKKSA Mentari", "BIKKSA Mentari"),
            "accepted": 3,
            "median_minutes": 125.0,
            "p90_minutes": 1500.0,
            "overdue_percent": 12.5,
        }
    ],
    "trend": {
        "key": "trend",
        "title": _label("trend", "Tren", "Trend"),
        "unit": _label("cases", "kasus", "cases"),
        "rows": [_label("2025-12", "Desember 2025", "December 2025")],
        "columns": [_label("cases", "Kasus", "Cases")],
        "cells": [[5]],
        "row_totals": None,
        "column_totals": None,
        "grand_total": None,
        "note": None,
    },
    "notes": [_label("n", "Catatan <b>uji</b>", "A note")],
}


def test_the_page_shows_each_table_with_headers_totals_and_the_suppression_note() -> None:
    t = messages.translator("id")
    html = environment().get_template("reports/monthly.html").render(
        t=t, lang="id", other_lang="en", person=None, kelurahan_name="", csrf="", here="/",
        errors=Errors(), months=[("2025-12", "Desember 2025")], month="2025-12",
        month_text="Desember 2025", report=REPORT, charts={}, simfoni=False,
        label=labelled("id"), number=lambda v: number(v, "id"),
        duration=lambda v: duration(v, "id"), percent=lambda v: percent(v, "id"),
        when=lambda v: str(v),
    )  # fmt: skip
    start = html.index('id="table-victims_by_age_sex"')
    table = html[start : html.index("</table>", start)]
    assert (
        '<caption class="visually-hidden" id="table-victims_by_age_sex-caption">Korban per umur'
        in table
    )
    assert table.count('scope="col"') == 3 and table.count('scope="row"') == 3  # and "Jumlah"
    assert '<td class="table__number">&lt;3</td>' in table
    assert '<td class="table__number table__total">x</td>' in table
    assert "<tfoot>" in table and '<td class="table__number">7</td>' in table
    assert 'role="region"' in html and 'class="table-scroll"' in html
    assert "berarti 1 atau 2" in html
    assert "2 jam 5 menit" in html and "1 hari 1 jam" in html and "12,5%" in html
    assert "Catatan &lt;b&gt;uji&lt;/b&gt;" in html
    assert "simfoni" not in html
    trend = html[html.index('id="table-trend"') :]
    assert "<tfoot>" not in trend[: trend.index("</table>")]
