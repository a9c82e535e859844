"""The monthly report pages: one month of the kecamatan as the report service answers it
(`GET /api/v1/reports/monthly`), its tables as HTML tables, its charts inline, and its downloads
(PDF, XLSX, CSV, and the coordinator's SIMFONI-PPA export) passed on from the report service.

Who sees it: the coordinator (exact numbers: the report service answers them `exact: true`) and
the officers (small numbers suppressed, as the report service answers every role but the
coordinator). Partner staff, the admin and the data protection officer have no report pages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup

from jejaring.shared.contract.enums import Lang
from jejaring.web import messages
from jejaring.web.pages import Errors, Signed, WebDep, formatter, language, passed_on, render
from jejaring.web.sessions import SignedIn
from jejaring.web.svg import plain_svg
from jejaring.web.upstream import Unreachable, field_errors

router = APIRouter()

READERS = ("coordinator", "officer")
MONTHS_LISTED = 24
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
API = "/api/v1/reports"
REPORT_FILES = ("pdf", "xlsx", "csv")
SIMFONI_FILES = ("csv", "xlsx")


def require_reader(signed: SignedIn) -> None:
    """The report pages are the coordinator's and the officers'; anyone else: not found."""
    if signed.person.role not in READERS:
        raise HTTPException(404)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def recent_months(today: dt.date, count: int = MONTHS_LISTED) -> list[str]:
    """This month and the ones before it, newest first, as "YYYY-MM"."""
    months = (_shift(today.year, today.month, -i) for i in range(count))
    return [f"{year:04d}-{month:02d}" for year, month in months]


def default_month(today: dt.date) -> str:
    """The month a report is usually made for: the previous (WITA) month, a whole one."""
    return recent_months(today, 2)[1]


def valid_month(value: str, today: dt.date) -> bool:
    """A "YYYY-MM" month that has begun (a report of a future month would be empty)."""
    found = _MONTH.match(value)
    return found is not None and value <= recent_months(today, 1)[0] and int(found[1]) >= 2000


def month_name(value: str, lang: Lang) -> str:
    """ "2026-11" as people read it: November 2026."""
    year, month = value.split("-")
    return f"{messages.month(int(month), lang)} {year}"


def number(value: Any, lang: Lang) -> str:
    """A count as people read it (1.234 in Bahasa Indonesia, 1,234 in English); a suppressed
    cell ("<3", "x") and a missing one ("–") as they are."""
    if isinstance(value, bool) or value is None:
        return "–"
    if isinstance(value, int):
        text = f"{value:,}"
        return text.replace(",", ".") if lang == "id" else text
    return str(value)


def duration(minutes: float | None, lang: Lang) -> str:
    """Minutes as people read them: 45 menit, 2 jam 5 menit, 1 hari 3 jam."""
    if minutes is None:
        return "–"
    whole = round(minutes)
    if whole < 1:
        return "< 1 " + ("menit" if lang == "id" else "min")
    days, rest = divmod(whole, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = ("hari", "jam", "menit") if lang == "id" else ("d", "h", "min")
    parts = [f"{n} {unit}" for n, unit in zip((days, hours, mins), units, strict=True) if n]
    return " ".join(parts[:2])  # the two largest units: "1 hari 3 jam", not to the minute


def percent(value: float | None, lang: Lang) -> str:
    if value is None:
        return "–"
    text = f"{value:.0f}%" if value == round(value) else f"{value:.1f}%"
    return text.replace(".", ",") if lang == "id" else text


def labelled(lang: Lang) -> Callable[[dict[str, Any] | None], str]:
    """A `{code, id, en}` label of the report's JSON in the person's language."""

    def text(label: dict[str, Any] | None) -> str:
        if not label:
            return ""
        return str(label.get(lang) or label.get("id") or label.get("code") or "")

    return text


async def charts(signed: SignedIn, report: dict[str, Any], lang: Lang) -> dict[str, Markup]:
    """The report service's chart of each table (and the trend) that has one, as plain SVG;
    a table without a chart, or whose chart is not plain SVG, is shown as a table only."""
    keys = [t["key"] for t in (report["trend"], *report["tables"]) if t and t.get("key")]

    async def one(key: str) -> Markup | None:
        try:
            answer = await signed.call(
                "report",
                "GET",
                f"{API}/monthly/charts/{key}.svg",
                params={"month": report["month"], "lang": lang},
            )
        except Unreachable:
            return None
        if answer.status_code != 200:
            return None
        return plain_svg(answer.content, prefix=f"chart-{key}-")

    drawn = await asyncio.gather(*(one(key) for key in keys))
    return {key: svg for key, svg in zip(keys, drawn, strict=True) if svg is not None}


@router.get("/reports/monthly")
async def monthly(request: Request, w: WebDep, signed: Signed) -> Response:
    require_reader(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    today = w.now_local().date()
    months = recent_months(today)
    asked = request.query_params.get("month")
    month = default_month(today) if asked is None else asked.strip()
    errors = Errors()
    report: dict[str, Any] | None = None
    status = 200
    if not valid_month(month, today):
        errors.add("report-month", t("report.month.invalid"))
        status, month = 400, default_month(today)
    else:
        if month not in months:  # an older month asked for by its address: listed too
            months.append(month)
        try:
            answer = await signed.call(
                "report", "GET", f"{API}/monthly", params={"month": month, "lang": lang}
            )
        except Unreachable:
            errors.add("", t("report.unavailable"))
            status = 503
        else:
            if answer.status_code == 200:
                report = answer.json()
            elif answer.status_code == 403:
                raise HTTPException(404)
            else:
                for error in field_errors(answer) or []:
                    errors.add("report-month", error.text(lang))
                if not errors:
                    errors.add("", t("report.refused"))
                status = 400 if answer.status_code in (400, 422) else 503
    return render(
        request,
        w,
        "reports/monthly.html",
        status=status,
        errors=errors,
        signed=signed,
        months=[(m, month_name(m, lang)) for m in months],
        month=month,
        month_text=month_name(month, lang),
        report=report,
        charts=await charts(signed, report, lang) if report else {},
        simfoni=signed.person.role == "coordinator",
        label=labelled(lang),
        number=lambda value: number(value, lang),
        duration=lambda value: duration(value, lang),
        percent=lambda value: percent(value, lang),
        when=formatter(lang, w.zone),
    )


def _download_month(request: Request, w: WebDep) -> str:
    month = request.query_params.get("month", "")
    if not valid_month(month, w.now_local().date()):
        raise HTTPException(404)
    return month


@router.get("/reports/monthly.{fmt}")
async def monthly_file(fmt: str, request: Request, w: WebDep, signed: Signed) -> Response:
    """The report as a file (always with small numbers suppressed), from the report service."""
    require_reader(signed)
    if fmt not in REPORT_FILES:
        raise HTTPException(404)
    params = {"month": _download_month(request, w), "lang": language(request, w)}
    return await passed_on(signed, "report", f"{API}/monthly.{fmt}", params=params)


@router.get("/reports/simfoni.{fmt}")
async def simfoni_file(fmt: str, request: Request, w: WebDep, signed: Signed) -> Response:
    """The month's cases shaped for SIMFONI-PPA (one row per victim, no names): the
    coordinator's only, as the report service allows."""
    if signed.person.role != "coordinator" or fmt not in SIMFONI_FILES:
        raise HTTPException(404)
    params = {"month": _download_month(request, w)}
    return await passed_on(signed, "report", f"{API}/simfoni.{fmt}", params=params)
