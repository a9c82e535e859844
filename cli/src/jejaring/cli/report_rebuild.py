"""`jejaring report-rebuild`: rebuild report's read model from the streams, through report's
admin API (report/rebuild.py)."""

from __future__ import annotations

import typer

from jejaring.cli import api


def report_rebuild(
    yes: bool = typer.Option(
        False, "--yes", help="Do not ask: the months older than the streams are lost knowingly."
    ),
) -> None:
    """Empty report's read model and replay CASES and REFERRAL_EVENTS from their first message
    (report keeps serving; its numbers fill again as it catches up). The streams keep 30 days:
    older months come back only from a backup, so it asks first (--yes: it does not)."""
    if not yes:
        typer.confirm(
            "This empties report's read model and replays the streams, which hold only their "
            "last 30 days: older months come back only from a backup (jejaring restore). "
            "Rebuild?",
            abort=True,
        )
    answer = api.call("report-rebuild", "report", "POST", "/api/v1/admin/rebuild")
    typer.echo(
        "report: read model emptied; replaying "
        + ", ".join(answer.get("replaying", []))
        + " from the first message of their streams"
    )
