"""`jejaring report-rebuild`: rebuild report's read model from the streams, through report's
admin API (report/rebuild.py)."""

from __future__ import annotations

import typer

from jejaring.cli import api


def report_rebuild() -> None:
    """Empty report's read model and replay CASES and REFERRAL_EVENTS from their first message
    (report keeps serving; its numbers fill again as it catches up)."""
    answer = api.call("report-rebuild", "report", "POST", "/api/v1/admin/rebuild")
    typer.echo(
        "report: read model emptied; replaying "
        + ", ".join(answer.get("replaying", []))
        + " from the first message of their streams"
    )
