"""`jejaring partner …`: manage partners through the running referral service's admin API,
so a new partner's stream exists and routing sees it at once, without a restart."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import typer

from jejaring.cli import api
from jejaring.cli.tls import CA_FILE_VARIABLE

app = typer.Typer(
    help="Manage partner agencies (needs REFERRAL_ADMIN_TOKEN and a running referral)."
)


def _call(method: str, path: str, json: Any = None) -> Any:
    return api.call("partner", "referral", method, path, json)


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
    contact_public: bool = typer.Option(
        False,
        help="Publish the contact in the partner directory (HSDS): only for the organisation's "
        "own desk or duty line, never a person's private number.",
    ),
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
        body["contacts"] = [{**{k: v for k, v in contact.items() if v}, "public": contact_public}]
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


def new_user_seed() -> tuple[bytes, str]:
    """A new NKey user key pair made here: (seed, public key)."""
    import nkeys

    seed = nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER)
    return seed, nkeys.from_seed(seed).public_key.decode()


def write_seed(folder: Path, slug: str, seed: bytes) -> Path:
    """The partner's seed file, readable by its owner only, never overwriting another."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{slug}-{stamp}.nk"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(seed + b"\n")
    return path


CA_COPY = "jejaring-ca.pem"


def read_ca(path: Path) -> bytes:
    """The site's CA certificate at `path`, refused (one line) unless it is a CA certificate
    and nothing else: never hand a partner a private key by a slip of the option."""
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"--ca-file: cannot read {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise ValueError(f"--ca-file: {path} holds a private key; give ca.pem, the certificate")
    try:
        certs = x509.load_pem_x509_certificates(data)
        is_ca = all(
            c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca for c in certs
        )
    except (ValueError, x509.ExtensionNotFound):
        is_ca = False
    if not is_ca:
        raise ValueError(f"--ca-file: {path} is not a CA certificate (ca.pem of `jejaring tls`)")
    return data


def write_ca(folder: Path, data: bytes) -> Path:
    """The CA certificate the partner trusts, beside its seed file (public: 0644)."""
    path = folder / CA_COPY
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    tmp.replace(path)
    return path


def _reload_embedded() -> None:
    """Put the change into the embedded server's configuration now, when there is one;
    elsewhere `jejaring nats-auth-sync` does it within its interval."""
    from jejaring.cli.stack import StackConfig

    config = StackConfig.from_env()
    if not config.nats_pid_file.exists():
        typer.echo(
            "note: no embedded nats-server here; `jejaring nats-auth-sync` beside the NATS "
            "server applies it within a minute",
            err=True,
        )
        return
    _, _, problem = config.regenerate_nats_config()
    if problem:
        typer.echo(f"jejaring partner: NATS configuration not refreshed: {problem}", err=True)
        raise typer.Exit(1)


@app.command("credentials")
def credentials(
    slug: str,
    out: Path = typer.Option(Path("."), help="Folder to write the partner's seed file into."),
    expires_days: int = typer.Option(365, help="The key stops working after this many days."),
    rotate: bool = typer.Option(
        False, help="Keep the partner's current keys valid for --grace-days (no gap)."
    ),
    grace_days: int = typer.Option(7, help="With --rotate: how long the old keys stay valid."),
    ca_file: Path | None = typer.Option(
        None,
        envvar=CA_FILE_VARIABLE,
        help="The CA that signed NATS's certificate (ca.pem of `jejaring tls`), copied beside "
        "the seed for the partner to trust.",
    ),
) -> None:
    """Make an NKey for SLUG here, write its seed (mode 0600) for the partner, and register
    only the public key with referral; copy the CA to trust beside it. Without --rotate the
    partner's other keys stop now."""
    try:
        ca = read_ca(ca_file) if ca_file else None
    except ValueError as exc:
        typer.echo(f"jejaring partner: {exc}", err=True)
        raise typer.Exit(2) from None
    seed, public_key = new_user_seed()
    try:
        path = write_seed(out, slug, seed)
        ca_path = write_ca(out, ca) if ca else None
    except OSError as exc:
        typer.echo(f"jejaring partner: cannot write the seed file into {out}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        c = _call(
            "POST",
            f"/api/v1/partners/{slug}/nats-keys",
            {
                "public_key": public_key,
                "expires_days": expires_days,
                "rotate": rotate,
                "grace_days": grace_days,
            },
        )
    except typer.Exit:
        path.unlink()  # a seed whose key is not registered is worth nothing
        raise
    _reload_embedded()
    nats_url = os.environ.get("JEJARING_PUBLIC_NATS_URL", _nats_url())
    typer.echo(f"NATS URL:      {nats_url}")
    typer.echo(f"seed file:     {path}  (give it to the partner only; Jejaring keeps no copy)")
    if ca_path:
        typer.echo(f"CA file:       {ca_path}  (give it with the seed: the partner trusts it)")
    typer.echo(f"public key:    {c['public_key']}")
    typer.echo(f"expires:       {c['expires_at']}")
    typer.echo(f"inbox prefix:  {c['inbox_prefix']}")
    typer.echo(f"stream:        {c['stream']} (durable pull consumer {c['consumer']})")
    typer.echo(f"publish to:    {c['publish']}")
    for old in c["still_valid"]:
        typer.echo(
            f"still valid:   {old['public_key']} until {old['expires_at']} "
            f"(end it sooner: jejaring partner revoke-key {slug})"
        )
    ca_option = f" --ca-file {ca_path}" if ca_path else ""
    typer.echo(
        f"try it:        python examples/partner_client.py --nats-url {nats_url} --slug {slug} "
        f"--seed-file {path}{ca_option}"
    )


@app.command("keys")
def keys(slug: str) -> None:
    """SLUG's NATS keys, newest first, with their state."""
    now = dt.datetime.now(dt.UTC)
    for k in _call("GET", f"/api/v1/partners/{slug}/nats-keys"):
        expires = dt.datetime.fromisoformat(k["expires_at"])
        state = "revoked" if k["revoked_at"] else "expired" if expires <= now else "valid"
        typer.echo(f"{k['public_key']}  {state:<8} created {k['created_at']}  expires {expires}")


@app.command("revoke-key")
def revoke_key(
    slug: str,
    key: str | None = typer.Option(
        None, "--key", help="The public key to revoke (default: every key but the newest)."
    ),
) -> None:
    """Revoke a NATS key of SLUG (default: all but the newest, ending a rotation)."""
    revoked = _call("POST", f"/api/v1/partners/{slug}/nats-keys/revoke", {"public_key": key})
    _reload_embedded()
    for k in revoked:
        typer.echo(f"revoked {k['public_key']}")
    typer.echo(f"{len(revoked)} key(s) of {slug} revoked")


def _nats_url() -> str:
    from jejaring.cli.stack import StackConfig

    return StackConfig.from_env().nats_url
