"""`jejaring audit …`: the audit trails of intake and referral, through their admin APIs
(INTAKE_ADMIN_TOKEN, REFERRAL_ADMIN_TOKEN)."""

from __future__ import annotations

import typer

from jejaring.cli import api

app = typer.Typer(help="The audit trails of who read or changed what (intake and referral).")

# Each keeps its own trail in its own database: intake (cases, users), referral (partners,
# their credentials, their answers).
TRAILS = ("intake", "referral")


@app.command("verify")
def verify() -> None:
    """Walk each service's hash chain: print `<service>: chain intact: N records`, or the first
    record where it breaks and why (altered, missing, reordered); exit 1 if any chain is
    broken or could not be checked."""
    failed = False
    for service in TRAILS:
        try:
            verdict = api.request(service, "GET", "/api/v1/audit/verify")
        except api.AdminApiError as exc:
            typer.echo(f"{service}: not checked: {str(exc).removeprefix(f'{service}: ')}")
            failed = True
            continue
        if verdict["intact"]:
            typer.echo(f"{service}: chain intact: {verdict['records']} records")
            continue
        typer.echo(
            f"{service}: chain broken at record {verdict['broken_at']}: {verdict['reason']} "
            f"({verdict['detail']}); {verdict['records']} records before it are intact"
        )
        failed = True
    if failed:
        raise typer.Exit(1)
