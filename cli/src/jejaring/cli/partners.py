"""`jejaring partner …`: manage partners through the running referral service's admin API,
so a new partner's stream exists and routing sees it at once, without a restart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import typer

from jejaring.cli.stack import admin_token_file, admin_token_variable

app = typer.Typer(
    help="Manage partner agencies (needs REFERRAL_ADMIN_TOKEN and a running referral)."
)


def _base_url() -> str:
    if url := os.environ.get("JEJARING_REFERRAL_URL"):
        return url.rstrip("/")
    host = os.environ.get("JEJARING_HOST", "127.0.0.1")
    return f"http://{host}:{os.environ.get('JEJARING_REFERRAL_PORT', '8001')}"


def _call(method: str, path: str, json: Any = None) -> Any:
    token = os.environ.get(admin_token_variable("referral"))
    stored = admin_token_file(Path(os.environ.get("JEJARING_DATA_DIR", ".data")), "referral")
    if not token and stored.exists():
        token = stored.read_text().strip()  # made by `jejaring up` on first start
    if not token:
        typer.echo(
            f"jejaring partner: set {admin_token_variable('referral')} (referral's admin token)",
            err=True,
        )
        raise typer.Exit(2)
    url = _base_url() + path
    try:
        response = httpx.request(
            method, url, json=json, headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
    except httpx.TransportError:
        typer.echo(
            f"jejaring partner: referral is not reachable at {_base_url()}; is `make up` running?",
            err=True,
        )
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        try:
            errors = response.json()["detail"]
            text = "; ".join(f"{e['field']}: {e['message_en']}" for e in errors)
        except (ValueError, KeyError, TypeError):
            text = response.text[:200]
        typer.echo(f"jejaring partner: {response.status_code} {text}", err=True)
        raise typer.Exit(1)
    return response.json()


@app.command("add")
def add(
    slug: str = typer.Option(..., help="Lowercase a-z, 0-9 and '-', e.g. uptd-ppa-balikpapan."),
    name: str = typer.Option(..., help="The agency's name."),
    kind: str = typer.Option(
        ...,
        help="police, tni, legal_aid, counselling, health, shelter, social_service or government.",
    ),
    service: list[str] = typer.Option(
        ..., "--service", help="A service offered (repeat for more)."
    ),
    kelurahan: list[str] = typer.Option(
        [], "--kelurahan", help="A kelurahan code covered (repeat; none: all)."
    ),
    contact_name: str | None = typer.Option(None, help="Contact person for alerts."),
    contact_phone: str | None = typer.Option(None, help="Contact phone (SMS)."),
    contact_email: str | None = typer.Option(None, help="Contact email."),
) -> None:
    """Register a partner: its stream and consumer are created and the next case can reach it."""
    body: dict[str, Any] = {
        "slug": slug,
        "name": name,
        "kind": kind,
        "services": service,
        "kelurahan": kelurahan,
    }
    if contact_name or contact_phone or contact_email:
        contact = {"name": contact_name or name, "phone": contact_phone, "email": contact_email}
        contact["preferred_channel"] = "sms" if contact_phone else "email"
        body["contacts"] = [{k: v for k, v in contact.items() if v}]
    p = _call("POST", "/api/v1/partners", body)
    typer.echo(
        f"partner {p['slug']} ({p['kind']}) registered: stream {p['stream']}, consumer {p['slug']}"
    )
    typer.echo(
        f"services: {', '.join(p['services'])}; kelurahan: {', '.join(p['kelurahan']) or 'all'}"
    )
    typer.echo("API token, shown only this once:")
    typer.echo(p["token"])


@app.command("list")
def list_() -> None:
    """Every partner, active or not."""
    for p in _call("GET", "/api/v1/partners"):
        state = "active" if p["active"] else "inactive"
        typer.echo(
            f"{p['slug']:<24} {p['kind']:<14} {state:<8} {p['stream']:<32} {', '.join(p['services'])}"
        )


@app.command("deactivate")
def deactivate(slug: str) -> None:
    """Stop new referrals to SLUG; its open referrals stay answerable."""
    p = _call("POST", f"/api/v1/partners/{slug}/deactivate")
    typer.echo(f"partner {p['slug']} deactivated; open referrals stay visible and answerable")


@app.command("token")
def token(
    slug: str,
    revoke_old: bool = typer.Option(
        False, "--revoke-old", help="The previous token stops now (e.g. it has leaked)."
    ),
) -> None:
    """Issue a new HTTP API token for SLUG. The previous one keeps working for the grace period
    (REFERRAL_PARTNER_TOKEN_GRACE_S, default 24 h) so the partner can switch, unless
    --revoke-old."""
    issued = _call("POST", f"/api/v1/partners/{slug}/token", {"revoke_old": revoke_old})
    until = issued["previous_valid_until"]
    typer.echo(
        f"previous token valid until {until}" if until else "previous token stopped now",
        err=True,
    )
    typer.echo(issued["token"])


@app.command("credentials")
def credentials(slug: str) -> None:
    """Issue NATS credentials for SLUG, put them into the embedded server's configuration
    (reloaded), and print what the partner needs to connect. Shown once."""
    from jejaring.cli.stack import StackConfig

    c = _call("POST", f"/api/v1/partners/{slug}/nats-credentials")
    config = StackConfig.from_env()
    try:
        _, reloaded = config.regenerate_nats_config()
    except httpx.HTTPError as exc:
        typer.echo(
            f"jejaring partner: could not regenerate the NATS configuration: {exc}", err=True
        )
        raise typer.Exit(1) from None
    if not reloaded:
        typer.echo(
            "note: no embedded nats-server to reload; run `jejaring nats-config` where NATS runs",
            err=True,
        )
    typer.echo(f"NATS URL:      {os.environ.get('JEJARING_PUBLIC_NATS_URL', config.nats_url)}")
    typer.echo(f"user:          {c['user']}")
    typer.echo(f"password:      {c['password']}")
    typer.echo(f"inbox prefix:  {c['inbox_prefix']}")
    typer.echo(f"stream:        {c['stream']} (durable pull consumer {c['consumer']})")
    typer.echo(f"publish to:    {c['publish']}")
    typer.echo(
        f"try it:        python examples/partner_client.py --slug {slug} --user {c['user']} "
        f"--password {c['password']}"
    )
