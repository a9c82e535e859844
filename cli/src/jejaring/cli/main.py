"""`jejaring`: run the embedded stack and administer Jejaring."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import typer

from jejaring.cli import (
    audit_cli,
    backup_cli,
    directory_cli,
    natsconfig,
    private_files,
    report_cli,
    stack,
)
from jejaring.cli.dlq import app as dlq_app
from jejaring.cli.partners import app as partner_app
from jejaring.cli.report_rebuild import report_rebuild
from jejaring.cli.stack import StackConfig, StackError
from jejaring.cli.tls import CA_FILE_VARIABLE, ca_file_option, tls

app = typer.Typer(
    help="Jejaring: referrals for the PPATBM protection network.",
    no_args_is_help=True,
    add_completion=False,
)


app.callback()(private_files)


@app.command()
def up() -> None:
    """Run nats-server, the four services and the web app on this machine until Ctrl-C."""
    raise typer.Exit(stack.up())


@app.command()
def init(
    env_file: Path = typer.Option(Path(".env"), help="The file to write (mode 0600)."),
    example: Path = typer.Option(Path(".env.example"), help="The template: change-me = secret."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 78 unless every secret given is real."
    ),
    compose: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="With --check: also build every service's production settings from what this "
        "compose file gives it (.env, deploy/env/<service>.env beside it); exit 78 naming the "
        "first setting a service would refuse.",
    ),
) -> None:
    """Generate every secret of a deployment once into ENV_FILE; print their names only."""
    from jejaring.cli import init as init_module

    code = init_module.run(
        example, env_file, check_only=check, out=sys.stdout, err=sys.stderr, compose=compose
    )
    raise typer.Exit(code)


@app.command()
def health(
    service: str | None = typer.Argument(
        None, help="intake, referral, notify, report or web (default: $JEJARING_SERVICE)."
    ),
) -> None:
    """Exit 0 when SERVICE answers /readyz on this machine (the image's health check)."""
    from jejaring.cli.health import UnknownService, healthy, readyz_url

    try:
        url = readyz_url(service or os.environ.get("JEJARING_SERVICE", ""))
    except UnknownService as exc:
        typer.echo(f"jejaring health: {exc}", err=True)
        raise typer.Exit(2) from None
    if not healthy(url):
        typer.echo(f"jejaring health: {url} is not ready", err=True)
        raise typer.Exit(1)


@app.command()
def schemas(
    out: Path = typer.Option(Path("docs/schemas"), help="Folder to write the JSON Schemas into."),
) -> None:
    """Write the JSON Schema of every event payload into OUT (one file per CloudEvents type)."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    from jejaring.shared.contract.events import json_schemas

    for ce_type, schema in json_schemas().items():
        path = out / f"{ce_type}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written += 1
    typer.echo(f"wrote {written} schemas to {out}/")


@app.command("env-example")
def env_example(
    compose: Path = typer.Option(Path("docker-compose.yml"), exists=True, dir_okay=False),
    out: Path = typer.Option(Path("deploy/env"), help="Folder to write them into."),
) -> None:
    """Write deploy/env/<service>.env.example: every setting of each service, its default and
    meaning, from the settings classes (and which ones COMPOSE sets from .env)."""
    from jejaring.cli.compose import load
    from jejaring.cli.envdoc import write_all

    for path in write_all(load(compose), out):
        typer.echo(f"wrote {path}")


app.add_typer(partner_app, name="partner")
app.command("report-rebuild")(report_rebuild)
app.add_typer(dlq_app, name="dlq")
app.command(name="report")(report_cli.report)
app.add_typer(audit_cli.app, name="audit")
app.command("directory")(directory_cli.directory)
app.command("tls")(tls)
app.add_typer(backup_cli.app, name="backup")
app.command("restore")(backup_cli.restore)

keys_app = typer.Typer(help="Intake's master keys (crypto-shredding of personal data).")
app.add_typer(keys_app, name="keys")


@keys_app.command("new-master")
def keys_new_master(
    kid: str = typer.Option("k1", "--id", help="The new key's id: letters, digits, - and _"),
) -> None:
    """Print a new master key line, `id=base64`, for INTAKE_MASTER_KEYS (or a line of its
    file). To rotate: put it first (`k2=…,k1=…`) and restart intake, which re-wraps every
    case's data key with it and logs how many; then remove the old key."""
    from jejaring.shared import crypto

    try:
        typer.echo(crypto.generate_line(kid))
    except crypto.MasterKeyError as exc:
        typer.echo(f"jejaring keys new-master: {exc}", err=True)
        raise typer.Exit(2) from None


identity_app = typer.Typer(
    help="People's access tokens: intake signs them, the other services only verify."
)
app.add_typer(identity_app, name="identity")


@identity_app.command("public-key")
def identity_public_key() -> None:
    """Print JEJARING_IDENTITY_PUBLIC_KEY: the public key of JEJARING_IDENTITY_KEY (from the
    environment, or the embedded stack's .data/identity-key). Referral and notify verify
    people's tokens with it; it is not a secret."""
    from jejaring.shared.web.identity import IDENTITY_KEY_ENV, public_key_of

    try:
        key_file = StackConfig.from_env().identity_key_file
    except StackError as exc:
        typer.echo(f"jejaring identity public-key: {exc}", err=True)
        raise typer.Exit(2) from None
    secret = os.environ.get(IDENTITY_KEY_ENV)
    if not secret and key_file.is_file():
        secret = key_file.read_text().strip()
    if not secret:
        typer.echo(
            f"jejaring identity public-key: no {IDENTITY_KEY_ENV} set and no {key_file} "
            "(`jejaring init` or `jejaring up` makes one)",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(public_key_of(secret))


def _service_hashes() -> dict[str, str]:
    """bcrypt hashes of NATS_<NAME>_PASSWORD for the services and the provisioner (compose)."""
    passwords = {n: os.environ.get(natsconfig.password_env(n), "") for n in natsconfig.IDENTITIES}
    missing = [natsconfig.password_env(n) for n, p in passwords.items() if len(p) < 16]
    if missing:
        typer.echo(f"jejaring: set {', '.join(missing)} (16+ characters)", err=True)
        raise typer.Exit(2)
    return {n: natsconfig.bcrypt_hash(p) for n, p in passwords.items()}


def _auth_sync(out: Path, reload: Callable[[], bool]) -> natsconfig.AuthSync:
    """Writes just the `authorization { ... }` block into OUT (included by nats.conf)."""
    config = StackConfig.from_env()
    hashes = _service_hashes()
    return natsconfig.AuthSync(
        out=out,
        render=lambda keys: natsconfig.authorization(hashes, keys),
        referral_url=os.environ.get("JEJARING_REFERRAL_URL", config.referral_url).rstrip("/"),
        admin_token=config.admin_token("referral"),
        cache=out.with_name(f".{out.name}.partner-keys.json"),
        reload=reload,
    )


@app.command("nats-config")
def nats_config(
    out: Path | None = typer.Option(
        None, help="Write the authorization block here instead of the embedded config."
    ),
) -> None:
    """Regenerate NATS authorization from the partner registry (needs a running referral).

    Without --out: the embedded stack's configuration, reloaded in place. With --out: just the
    `authorization { ... }` block, for `include` by another server (docker-compose, cluster);
    passwords come from NATS_INTAKE_PASSWORD, NATS_REFERRAL_PASSWORD, NATS_NOTIFY_PASSWORD,
    NATS_REPORT_PASSWORD and NATS_PROVISIONER_PASSWORD. `jejaring nats-auth-sync` keeps it up to
    date.
    """
    if out is None:
        keys, changed, problem = StackConfig.from_env().regenerate_nats_config()
        state = "changed and reloaded" if changed else "unchanged"
        typer.echo(f"NATS configuration: {keys} partner keys, {state}")
    else:
        changed, problem = _auth_sync(out, lambda: False).once()
        typer.echo(f"{out}: written; reload NATS (nats-server --signal reload)")
    if problem:
        typer.echo(
            f"note: referral did not answer ({problem}); partner keys from the last run", err=True
        )


@app.command("nats-auth-sync")
def nats_auth_sync(
    config: Path = typer.Option(..., help="The authorization file nats.conf includes."),
    pid_file: Path | None = typer.Option(None, help="nats-server's pid file (SIGHUP on change)."),
    pid: int | None = typer.Option(
        None, help="nats-server's pid (1 in a sidecar sharing its PID namespace)."
    ),
    interval: float = typer.Option(15.0, min=1.0, max=600.0, help="Seconds between rounds."),
    once: bool = typer.Option(False, help="One round, then exit."),
) -> None:
    """Keep the NATS authorization in step with referral's partner keys: every INTERVAL
    seconds regenerate CONFIG and, only when it changed, make nats-server reload it (which
    closes the connections of keys that were revoked, expired or whose partner was
    deactivated)."""
    from jejaring.cli.stack import signal_reload

    if pid is None and pid_file is None:
        typer.echo("jejaring nats-auth-sync: give --pid or --pid-file", err=True)
        raise typer.Exit(2)
    sync = _auth_sync(config, lambda: signal_reload(pid_file, pid))
    last_problem: str | None = None
    while True:
        changed, problem = sync.once()
        if problem and problem != last_problem:
            typer.echo(f"referral did not answer ({problem}); keeping the last list", err=True)
        last_problem = problem
        if changed:
            typer.echo(f"{config}: partner keys changed; nats-server reloaded", err=True)
        if once:
            return
        time.sleep(interval)


@app.command("provision")
def provision(
    nats_url: str | None = typer.Option(
        None, help="NATS URL (default JEJARING_NATS_URL, or the embedded stack's)."
    ),
    replicas: int = typer.Option(
        1,
        envvar="JEJARING_STREAM_REPLICAS",
        min=1,
        max=5,
        help="Replicas of each contract stream (3 on a cluster).",
    ),
    wait: float = typer.Option(60.0, help="Seconds to wait for NATS to answer."),
    tls_ca_file: Path | None = ca_file_option(),
) -> None:
    """Create or update the contract streams and every service's durable consumers, as the
    NATS provisioner (password NATS_PROVISIONER_PASSWORD, or the embedded stack's). The
    services may only read what this made; run it at every start (compose's init step)."""
    from jejaring.cli.stack import provision as run_provision

    config = StackConfig.from_env()
    url = nats_url or os.environ.get("JEJARING_NATS_URL") or config.nats_url
    password = config.nats_password(natsconfig.PROVISIONER)
    if not password:
        typer.echo(
            f"jejaring provision: set {natsconfig.password_env(natsconfig.PROVISIONER)}", err=True
        )
        raise typer.Exit(2)
    deadline = time.monotonic() + wait
    while True:
        try:
            done = asyncio.run(run_provision(url, password, replicas=replicas, ca_file=tls_ca_file))
            break
        except ssl.SSLError as exc:  # retrying cannot help: say what to give
            typer.echo(
                f"jejaring provision: {url}: NATS's TLS certificate is not trusted "
                f"({exc.reason or exc}); give the site's CA (ca.pem of `jejaring tls`) with "
                f"--tls-ca-file or {CA_FILE_VARIABLE}",
                err=True,
            )
            raise typer.Exit(1) from None
        except Exception as exc:
            if "authorization" in str(exc).lower() or time.monotonic() >= deadline:
                typer.echo(f"jejaring provision: {url}: {type(exc).__name__}: {exc}", err=True)
                raise typer.Exit(1) from None
            time.sleep(1)
    for line in done:
        typer.echo(line)


user_app = typer.Typer(
    help="Manage intake's users (officers, the coordinator, admins, partner staff, the DPO)."
)
app.add_typer(user_app, name="user")


def _local_time(value: str) -> str:
    """An ISO time from intake's API, shown in the region's zone (e.g. 2026-03-02 09:00 WITA)."""
    import datetime as dt

    from jejaring.intake.rules import local_zone
    from jejaring.shared.region import DEFAULT_REGION_FILE, load_region

    zone = local_zone(load_region(Path(os.environ.get("INTAKE_REGION_FILE", DEFAULT_REGION_FILE))))
    return dt.datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@user_app.command("add")
def user_add(
    name: str = typer.Option(..., help="Full name."),
    role: str = typer.Option(..., help="officer, coordinator, admin, partner_staff or dpo."),
    kelurahan: str | None = typer.Option(None, help="Kelurahan code (officers only)."),
    phone: str | None = typer.Option(None, help="Phone for alerts, e.g. 0813…"),
    email: str | None = typer.Option(None, help="Email for alerts."),
    login: str | None = typer.Option(
        None, help="What the person signs in with (default: the phone number, if free)."
    ),
    partner: str | None = typer.Option(
        None, help="The partner's slug (partner_staff only), e.g. posbakum-aisyiyah."
    ),
) -> None:
    """Create a user through the running intake's admin API (INTAKE_ADMIN_TOKEN); print its
    setup code and its token (shown once)."""
    from jejaring.cli import api

    body = {
        "name": name,
        "role": role,
        "kelurahan_code": kelurahan,
        "phone": phone,
        "email": email,
        "login": login,
        "partner_slug": partner,
    }
    added = api.call("user add", "intake", "POST", "/api/v1/users", body)
    typer.echo(f"user {added['id']} ({role}) created.")
    if added.get("setup_code") and added.get("setup_expires_at"):
        typer.echo(
            f"Login {added['login']}. One-time setup code, for setting a password in the web "
            f"app (valid until {_local_time(added['setup_expires_at'])}), shown only this once:"
        )
        typer.echo(added["setup_code"])
    else:
        typer.echo(
            "No login (none given, and no phone number or one that is already someone's "
            "login): this user cannot sign in until given one (--login)."
        )
    typer.echo("API token, shown only this once:")
    typer.echo(added["token"])


@user_app.command("token")
def user_token(user_id: uuid.UUID) -> None:
    """Issue a new API token for USER_ID (the old one stops working now); shown once."""
    from jejaring.cli import api

    issued = api.call("user token", "intake", "POST", f"/api/v1/users/{user_id}/token")
    until = _local_time(issued["token_expires_at"])
    typer.echo(f"API token of {user_id}, valid until {until}, shown only this once:")
    typer.echo(issued["token"])


@user_app.command("revoke-token")
def user_revoke_token(user_id: uuid.UUID) -> None:
    """Revoke the API token of USER_ID: it answers 401 from now on (signing in is not touched)."""
    from jejaring.cli import api

    api.call("user revoke-token", "intake", "POST", f"/api/v1/users/{user_id}/token/revoke")
    typer.echo(f"API token of {user_id} revoked.")


if __name__ == "__main__":
    app()
