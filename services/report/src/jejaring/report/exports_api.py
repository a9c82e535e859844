"""The monthly report's HTTP endpoints: JSON and charts (exact for the coordinator, whose screen
they make; suppressed for every other PPATBM role), CSV/XLSX/PDF (always suppressed: they
leave the coordinator) and the case-level SIMFONI-PPA export (coordinator and admin). Partner
staff get 403. Every answer is `Cache-Control: no-store`."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from jejaring.report import charts, exports, monthly, simfoni
from jejaring.report.api import Ctx, Reader, reader
from jejaring.report.model import Label, MonthlyReport
from jejaring.shared.region import load_region
from jejaring.shared.web.errors import api_error
from jejaring.shared.web.identity import PersonRole

router = APIRouter(prefix="/api/v1/reports")
NO_STORE = {"Cache-Control": "no-store"}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
LangQuery = Annotated[Literal["id", "en"], Query()]


def month_of(text: str, now: dt.datetime) -> str:
    """A WITA calendar month "YYYY-MM", not after the current one; else a 422 naming `month`."""
    match = MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise api_error(
            422,
            "month",
            "invalid",
            "Bulan harus berbentuk TTTT-BB, misalnya 2026-11.",
            "The month must be YYYY-MM, e.g. 2026-11.",
        )
    if text > f"{now.astimezone(exports.WITA):%Y-%m}":
        raise api_error(
            422,
            "month",
            "future",
            "Bulan ini belum terjadi: laporan hanya untuk bulan ini atau sebelumnya.",
            "This month has not happened yet: a report covers this month or an earlier one.",
        )
    return text


def allowed(who: Reader) -> Reader:
    if who.role == PersonRole.PARTNER_STAFF:
        raise api_error(
            403,
            "authorization",
            "forbidden",
            "Laporan bulanan hanya untuk PPATBM, bukan untuk staf mitra.",
            "The monthly report is for PPATBM only, not for partner staff.",
        )
    return who


def case_level(who: Reader) -> Reader:
    if who.role not in (PersonRole.COORDINATOR, PersonRole.ADMIN):
        raise api_error(
            403,
            "authorization",
            "forbidden",
            "Ekspor SIMFONI-PPA (per korban) hanya untuk koordinator dan admin.",
            "The SIMFONI-PPA export (one row per victim) is for the coordinator and admin only.",
        )
    return who


async def _reader_allowed(who: Annotated[Reader, Depends(reader)]) -> Reader:
    return allowed(who)


async def _reader_case_level(who: Annotated[Reader, Depends(reader)]) -> Reader:
    return case_level(allowed(who))


PpatbmReader = Annotated[Reader, Depends(_reader_allowed)]
CaseLevelReader = Annotated[Reader, Depends(_reader_case_level)]


async def build_report(ctx: Ctx, month: str) -> MonthlyReport:
    now = ctx.clock()
    month = month_of(month, now)
    region = load_region(ctx.settings.region_file)
    kecamatan = Label(region.kecamatan.code, region.kecamatan.name, region.kecamatan.name)
    async with ctx.sessions() as session:
        return await monthly.build(
            session, month=month, kecamatan=kecamatan, now=now, region=region
        )


def _download(body: bytes, month: str, extension: str, prefix: str = "") -> Response:
    name = f"{prefix}{month}.{extension}" if prefix else exports.file_name(month, extension)
    return Response(
        body,
        media_type=MEDIA[extension],
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/monthly")
async def monthly_json(
    ctx: Ctx, who: PpatbmReader, month: str, lang: LangQuery = "id"
) -> JSONResponse:
    report = await build_report(ctx, month)
    view = exports.view_of(report, exact_numbers=who.role == PersonRole.COORDINATOR)
    return JSONResponse(exports.as_json(view), headers=NO_STORE)


@router.get("/monthly.{extension}")
async def monthly_export(
    ctx: Ctx,
    who: PpatbmReader,
    extension: Literal["csv", "xlsx", "pdf"],
    month: str,
    lang: LangQuery = "id",
) -> Response:
    report = await build_report(ctx, month)
    view = exports.view_of(report, exact_numbers=False)
    render = {"csv": exports.to_csv, "xlsx": exports.to_xlsx, "pdf": exports.to_pdf}[extension]
    # seconds of CPU for a PDF: in a worker thread, so the consumers and /readyz go on
    body = await asyncio.to_thread(render, view, lang)
    return _download(body, report.month, extension)


@router.get("/monthly/charts/{table_key}.svg")
async def monthly_chart(
    ctx: Ctx, who: PpatbmReader, table_key: str, month: str, lang: LangQuery = "id"
) -> Response:
    report = await build_report(ctx, month)
    view = exports.view_of(report, exact_numbers=who.role == PersonRole.COORDINATOR)
    try:
        table = view.table(table_key)
    except KeyError:
        raise api_error(
            404,
            "table_key",
            "not_found",
            "Tidak ada tabel dengan kunci ini dalam laporan.",
            "The report has no table with this key.",
        ) from None
    return Response(charts.svg(table, lang), media_type="image/svg+xml", headers=NO_STORE)


@router.get("/simfoni.{extension}")
async def simfoni_export(
    ctx: Ctx, who: CaseLevelReader, extension: Literal["csv", "xlsx"], month: str
) -> Response:
    month = month_of(month, ctx.clock())
    region = load_region(ctx.settings.region_file)
    async with ctx.sessions() as session:
        rows = await monthly.simfoni_rows(session, month=month, region=region)
    render = simfoni.to_csv if extension == "csv" else simfoni.to_xlsx
    body = await asyncio.to_thread(render, rows)
    return _download(body, month, extension, prefix="simfoni-ppa-")
