"""`jejaring audit …`: intake's audit trail, through its admin API (INTAKE_ADMIN_TOKEN)."""

from __future__ import annotations

import typer

from jejaring.cli import api

app = typer.Typer(help="Intake's audit trail of who read or changed what.")


@app.command("verify")
def verify() -> None:
    """Walk the trail's hash chain in the running intake: print `chain intact: N records`, or
    the first record where it breaks and why (altered, missing, reordered) and exit 1."""
    verdict = api.call("audit verify", "intake", "GET", "/api/v1/audit/verify")
    if verdict["intact"]:
        typer.echo(f"chain intact: {verdict['records']} records")
        return
    typer.echo(
        f"chain broken at record {verdict['broken_at']}: {verdict['reason']} "
        f"({verdict['detail']}); {verdict['records']} records before it are intact"
    )
    raise typer.Exit(1)
