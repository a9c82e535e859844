"""`jejaring report`: the monthly report from the report service's API, as its admin (the admin
sees small numbers suppressed, as every export that leaves the coordinator)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import typer

from jejaring.cli import api

WITA = ZoneInfo("Asia/Makassar")
Format = Literal["pdf", "xlsx", "csv", "json", "simfoni-csv", "simfoni-xlsx"]
PATHS = {
    "json": "/api/v1/reports/monthly",
    "pdf": "/api/v1/reports/monthly.pdf",
    "xlsx": "/api/v1/reports/monthly.xlsx",
    "csv": "/api/v1/reports/monthly.csv",
    "simfoni-csv": "/api/v1/reports/simfoni.csv",
    "simfoni-xlsx": "/api/v1/reports/simfoni.xlsx",
}


def previous_month(now: dt.datetime) -> str:
    """The calendar month before `now`'s, in WITA."""
    local = now.astimezone(WITA)
    first = local.date().replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def default_name(month: str, format: str) -> str:
    if format.startswith("simfoni-"):
        return f"simfoni-ppa-{month}.{format.removeprefix('simfoni-')}"
    return f"laporan-ppatbm-{month}.{format}"


def report(
    month: str | None = typer.Option(
        None, help="The WITA month, YYYY-MM (default: the previous month)."
    ),
    format: str = typer.Option(
        "pdf", "--format", help="pdf, xlsx, csv, json, simfoni-csv or simfoni-xlsx."
    ),
    lang: str = typer.Option("id", help="id (Bahasa Indonesia) or en."),
    out: Path | None = typer.Option(
        None, help="The file to write (default: laporan-ppatbm-YYYY-MM.<format>; json: stdout)."
    ),
) -> None:
    """Write the monthly report (small numbers suppressed) or the SIMFONI-PPA export."""
    if format not in PATHS:
        typer.echo(f"jejaring report: --format must be one of {', '.join(PATHS)}", err=True)
        raise typer.Exit(2)
    if lang not in ("id", "en"):
        typer.echo("jejaring report: --lang must be id or en", err=True)
        raise typer.Exit(2)
    month = month or previous_month(dt.datetime.now(dt.UTC))
    query = {"month": month} if format.startswith("simfoni-") else {"month": month, "lang": lang}
    try:
        response = api.send("report", "GET", f"{PATHS[format]}?{urlencode(query)}", timeout=120)
    except api.AdminApiError as exc:
        typer.echo(f"jejaring report: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    if format == "json" and out is None:
        sys.stdout.write(response.text + "\n")
        return
    target = out or Path(default_name(month, format))
    target.write_bytes(response.content)
    typer.echo(f"{target} ({len(response.content)} bytes)")
