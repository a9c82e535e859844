"""The commands of backups: `jejaring backup`, `jejaring backup keygen`, `jejaring restore`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

# Imported by every `jejaring` command (the image's health check among them): the backup
# modules (pyrage, SQLAlchemy, tar) are imported only by the commands that use them.
RECIPIENT_ENV = "JEJARING_BACKUP_RECIPIENT"

app = typer.Typer(
    help="Encrypted backups of every service's database (age). `jejaring restore` reads them.",
    invoke_without_command=True,
)


def _fail(command: str, exc: Exception) -> typer.Exit:
    typer.echo(f"jejaring {command}: {exc}", err=True)
    return typer.Exit(1)


@app.callback()
def take(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, help="The backup file to write (mode 0600)."),
    recipient: list[str] | None = typer.Option(
        None,
        help=f"An age public key (age1…) to encrypt to; repeatable (default ${RECIPIENT_ENV}).",
    ),
    recipients_file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="A file of age public keys, one a line."
    ),
) -> None:
    """Write every service's database (SQLite or PostgreSQL, as the services are configured),
    encrypted with age, into OUT. Safe while the services run."""
    if ctx.invoked_subcommand is not None:
        return
    from jejaring.cli import backup
    from jejaring.cli.backup_pg import PostgresError

    if out is None:
        raise _fail("backup", ValueError("--out: give the file to write"))
    keys = list(recipient or [])
    if recipients_file is not None:
        keys += backup.key_lines(recipients_file.read_text())
    if not keys and (configured := os.environ.get(RECIPIENT_ENV, "")):
        keys = configured.replace(",", " ").split()
    try:
        manifest = backup.write_backup(out, backup.recipients(keys), backup.database_urls())
    except (backup.BackupError, PostgresError) as exc:
        raise _fail("backup", exc) from None
    for service, entry in manifest["databases"].items():
        revisions = ",".join(entry["alembic_revisions"]) or "-"
        typer.echo(f"{service}: {entry['kind']}, {entry['size']} bytes, revision {revisions}")
    typer.echo(f"{out}: written, encrypted to {len(keys)} key(s)")
    if any("data_keys" in entry for entry in manifest["databases"].values()):
        typer.echo(
            f"{backup.keyring_path(out)}: the cases' data keys, replaced (a restore needs the "
            "latest one; an erased case's key is in none)"
        )


@app.command("keygen")
def keygen(
    out: Path = typer.Option(..., help="The identity file to write (0600); keep it offline."),
) -> None:
    """Make an age key pair: the identity (private key) into OUT, the public key printed (set
    it as JEJARING_BACKUP_RECIPIENT where backups are taken)."""
    from jejaring.cli import backup

    content, public = backup.new_identity()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _fail("backup keygen", ValueError(f"--out {out}: exists; not overwritten")) from None
    with os.fdopen(fd, "w") as f:
        f.write(content)
    typer.echo(f"{out}: identity written; keep it off this server (restores need it)")
    typer.echo(public)


def restore(
    file: Path = typer.Argument(..., help="The backup (`jejaring backup --out`)."),
    identity: Path = typer.Option(..., help="The age identity file it was encrypted to."),
    force: bool = typer.Option(False, "--force", help="Replace databases that are not empty."),
    keyring: Path | None = typer.Option(
        None,
        dir_okay=False,
        help="The keyring of data keys (default: jejaring-keyring.age beside FILE, the latest "
        "one `jejaring backup` wrote).",
    ),
    without_keys: bool = typer.Option(
        False, "--without-keys", help="Restore without any data key: every case unreadable."
    ),
) -> None:
    """Restore every database from FILE, and the cases' data keys from the keyring. The
    services must be stopped; a database that is not empty is refused unless --force. Nothing
    changes unless the whole backup (and the keyring) checks out."""
    from jejaring.cli import backup
    from jejaring.cli.backup_pg import PostgresError

    try:
        manifest = backup.restore(
            file,
            backup.identities(identity),
            backup.database_urls(),
            force=force,
            keyring_file=keyring,
            without_keys=without_keys,
        )
    except (backup.BackupError, PostgresError) as exc:
        raise _fail("restore", exc) from None
    for service, entry in manifest["databases"].items():
        keys = ""
        if "data_keys" in entry:
            keys = f", {entry['keys_restored']} data keys"
            if entry["keys_skipped"]:
                keys += f" ({entry['keys_skipped']} of cases recorded after it left out)"
            if without_keys:
                keys = ", no data key (--without-keys): its cases' personal data is unreadable"
        typer.echo(f"{service}: restored{keys}")
    typer.echo(f"backup of {manifest['created_at']} restored; start the services")
