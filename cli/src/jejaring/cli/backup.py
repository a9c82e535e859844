"""`jejaring backup` / `jejaring restore`: every service's database in one age-encrypted file.

A backup is a tar archive, encrypted with age (pyrage) to one or more public keys, holding
`manifest.json` (format, version, time; per database its kind, alembic revisions, size, sha256)
and one member per database: a SQLite image taken with the online backup API (consistent while
the service runs) or a `pg_dump --format=custom` of a PostgreSQL database. The plaintext exists
only in this process's memory (no temporary file): a backup is sized for one district's data,
tens of megabytes. Restore decrypts, checks every checksum and every target before it changes
anything, then restores each database. JetStream is not in the backup (docs/decisions.md,
"Backups"). Report's database is, like every other: its counts could be rebuilt from the
streams only within their retention (docs/decisions.md, "Reports: a fourth service").

The cases' data keys (the table `data_key`) are never in the archive: it holds that table
empty, and the keys go into a keyring file beside it (`jejaring-keyring.age`, encrypted to the
same keys), which each backup replaces. So once a case is erased (its key deleted), the next
backup leaves no copy of the key anywhere, and the case is unreadable in every older archive
too. A restore puts the keyring's keys back (docs/decisions.md, "Encryption at rest").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519
from sqlalchemy.engine import make_url

from jejaring.cli import backup_keyring as keyring
from jejaring.cli import backup_pg as pg
from jejaring.cli.backup_cli import RECIPIENT_ENV
from jejaring.cli.health import healthy, readyz_url
from jejaring.cli.stack import PROCESSES, StackConfig, StackError
from jejaring.shared import db

FORMAT = "jejaring-backup/1"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore refused, with the reason an operator can act on."""


# --- where the databases are ----------------------------------------------------------------


def database_urls(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each process's database URL as it configures it: <PREFIX>DATABASE_URL, else its SQLite
    file in <PREFIX>DATA_DIR (the embedded stack sets it from JEJARING_DATA_DIR)."""
    env = os.environ if env is None else env
    urls = {}
    for name in PROCESSES:
        prefix = name.upper() + "_"
        url = env.get(prefix + "DATABASE_URL")
        if not url:
            data_dir = env.get(prefix + "DATA_DIR") or env.get("JEJARING_DATA_DIR") or ".data"
            url = db.default_sqlite_url(name, data_dir)
        urls[name] = url
    return urls


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"{url.split(':', 1)[0]}: only SQLite and PostgreSQL are supported")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url}: not a SQLite file")
    return Path(database)


# --- keys -------------------------------------------------------------------------------------


def new_identity() -> tuple[str, str]:
    """A new age identity: (its file's text, its public key)."""
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return f"# created: {created}\n# public key: {public}\n{identity}\n", public


def recipients(keys: Iterable[str]) -> list[x25519.Recipient]:
    """Parse age public keys (age1…); a wrong one is named."""
    parsed = []
    for key in keys:
        try:
            parsed.append(x25519.Recipient.from_str(key))
        except pyrage.RecipientError:
            raise BackupError(f"recipient {key[:12]}…: not an age public key (age1…)") from None
    if not parsed:
        raise BackupError(
            f"no recipient: give --recipient, --recipients-file or set {RECIPIENT_ENV}"
        )
    return parsed


def key_lines(content: str) -> list[str]:
    """The keys of an age recipients or identity file (comments and blank lines left out)."""
    return [s for s in (line.strip() for line in content.splitlines()) if s and s[0] != "#"]


def identities(path: Path) -> list[x25519.Identity]:
    """The age identities in an identity file (as `jejaring backup keygen` writes it)."""
    try:
        lines = key_lines(path.read_text())
    except OSError as exc:
        raise BackupError(f"--identity {path}: {exc.strerror}") from None
    try:
        found = [x25519.Identity.from_str(line) for line in lines]
    except pyrage.IdentityError:
        raise BackupError(f"--identity {path}: not an age identity file") from None
    if not found:
        raise BackupError(f"--identity {path}: holds no AGE-SECRET-KEY line")
    return found


# --- taking a backup --------------------------------------------------------------------------


@dataclass(frozen=True)
class Dump:
    service: str
    kind: str
    data: bytes
    revisions: list[str]
    keys: keyring.Rows | None = None  # the data_key rows, kept out of `data` (None: no such table)

    @property
    def member(self) -> str:
        return f"{self.service}.{'sqlite' if self.kind == 'sqlite' else 'pgdump'}"

    def entry(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.member,
            "alembic_revisions": self.revisions,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            **({"data_keys": keyring.FILE_NAME} if self.keys is not None else {}),
        }


def _revisions(conn: sqlite3.Connection) -> list[str]:
    try:
        return sorted(row[0] for row in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.OperationalError:
        return []


def dump_sqlite(service: str, url: str) -> Dump:
    """A consistent image of a live SQLite database (the online backup API), in memory,
    without its data keys (returned beside it)."""
    path = _sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"{service}: no database at {path} (has {service} ever started here?)")
    source = sqlite3.connect(path, timeout=30)
    image = sqlite3.connect(":memory:")
    try:
        source.backup(image)
        keys = keyring.take_out_of_sqlite(image)
        data = bytearray(image.serialize())
        # Header bytes 18-19 say WAL (2) as in the source; an image that says WAL cannot be
        # opened in memory again. 1 is the rollback journal; the services set WAL when they open.
        data[18:20] = b"\x01\x01"
        return Dump(service, "sqlite", bytes(data), _revisions(image), keys)
    finally:
        source.close()
        image.close()


def dump_postgresql(service: str, url: str) -> Dump:
    """`pg_dump --format=custom` of the service's database, into memory, its data keys left
    out (read after the dump: a key deleted meanwhile stays deleted, and every case in the dump
    was made, with its key, before it)."""
    data, revisions = pg.dump(url, without_data_of=keyring.TABLE)
    return Dump(service, "postgresql", data, revisions, pg.rows(url, keyring.TABLE))


def take(urls: Mapping[str, str]) -> list[Dump]:
    """Every database, one after the other: the consumers first, intake (the cases) last, so
    that what a consumer recorded was, at its source, made before the source's copy."""
    order = sorted(urls, key=lambda s: PROCESSES.index(s) if s in PROCESSES else -1)
    return [
        dump_sqlite(s, urls[s]) if _kind(urls[s]) == "sqlite" else dump_postgresql(s, urls[s])
        for s in reversed(order)
    ]


def archive(dumps: list[Dump], *, now: dt.datetime) -> bytes:
    """The tar archive (plaintext, in memory): the manifest first, then each database."""
    manifest = {
        "format": FORMAT,
        "jejaring_version": version("jejaring-cli"),
        "created_at": now.isoformat(timespec="seconds"),
        "databases": {d.service: d.entry() for d in dumps},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        members = [
            (MANIFEST, json.dumps(manifest, indent=2).encode()),
            *((d.member, d.data) for d in dumps),
        ]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_encrypted(out: Path, plaintext: bytes, keys: list[x25519.Recipient]) -> None:
    """Encrypt `plaintext` to `keys` into OUT (0600, complete or absent: a file it replaces
    stays whole until the new one is)."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise BackupError(f"--out {out}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as sink:
            pyrage.encrypt_io(io.BytesIO(plaintext), sink, keys)
            sink.flush()
            os.fsync(sink.fileno())
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def keyring_path(backup_file: Path) -> Path:
    """Where the keyring of the backups in a folder is: beside them, one for all."""
    return backup_file.with_name(keyring.FILE_NAME)


def write_backup(
    out: Path, keys: list[x25519.Recipient], urls: Mapping[str, str]
) -> dict[str, Any]:
    """Encrypt every database to `keys` into OUT, and their data keys into the keyring beside
    it, replacing the previous keyring (both 0600, complete or absent); return the manifest."""
    now = dt.datetime.now(dt.UTC)
    dumps = take(urls)
    plaintext = archive(dumps, now=now)
    write_encrypted(out, plaintext, keys)
    data_keys = {d.service: (d.kind, d.keys) for d in dumps if d.keys is not None}
    if data_keys:
        write_encrypted(keyring_path(out), keyring.render(data_keys, now=now), keys)
    return read_manifest(plaintext)


# --- restoring --------------------------------------------------------------------------------


def decrypt(path: Path, ids: list[x25519.Identity]) -> bytes:
    """The archive inside an encrypted backup; a wrong key or an altered file is refused."""
    try:
        ciphertext = path.read_bytes()
    except OSError as exc:
        raise BackupError(f"{path}: {exc.strerror}") from None
    try:
        return pyrage.decrypt(ciphertext, ids)
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise BackupError(
                f"{path}: not encrypted to this identity (wrong --identity file?); nothing "
                "was changed"
            ) from None
        raise BackupError(
            f"{path}: damaged or altered ({exc}): it cannot be trusted; nothing was changed"
        ) from None


def read_manifest(plaintext: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(plaintext), mode="r:") as tar:
        manifest: dict[str, Any] = json.loads(_member(tar, MANIFEST))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"not a {FORMAT} backup (format {manifest.get('format')!r})")
    return manifest


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        extracted = tar.extractfile(name)
    except KeyError:
        extracted = None
    if extracted is None:
        raise BackupError(f"the backup has no {name}")
    return extracted.read()


def verified(plaintext: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and each database's bytes, once every size and sha256 matches."""
    manifest = read_manifest(plaintext)
    data = {}
    with tarfile.open(fileobj=io.BytesIO(plaintext), mode="r:") as tar:
        for service, entry in manifest["databases"].items():
            content = _member(tar, entry["file"])
            if len(content) != entry["size"] or (
                hashlib.sha256(content).hexdigest() != entry["sha256"]
            ):
                raise BackupError(f"{service}: checksum mismatch; nothing was changed")
            data[service] = content
    return manifest, data


def _sqlite_tables(path: Path) -> int:
    if not path.is_file():
        return 0
    conn = sqlite3.connect(path)
    try:
        (count,) = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()
        return int(count)
    finally:
        conn.close()


def check_stopped(service: str, url: str, env: Mapping[str, str]) -> None:
    """Refuse while the service may be using the database: on PostgreSQL any other session on
    it (replicas on other hosts included); on SQLite the service answering on this machine."""
    if _kind(url) == "postgresql":
        if others := pg.other_sessions(url):
            raise BackupError(
                f"{service}: {others} other connection(s) to its database; stop the services "
                "first (docker compose stop intake referral notify report web)"
            )
        return
    # The port the service is configured with (<PREFIX>PORT), and the embedded stack's.
    try:
        stack_port = StackConfig.from_env(dict(env)).ports[service]
    except StackError as exc:
        raise BackupError(str(exc)) from None
    for ready in {readyz_url(service, dict(env)), f"http://127.0.0.1:{stack_port}/readyz"}:
        if healthy(ready, timeout=1.0):
            raise BackupError(
                f"{service} is running (it answers {ready}); stop it (or `jejaring up`) first"
            )


def check_target(service: str, url: str, force: bool) -> None:
    tables = pg.tables(url) if _kind(url) == "postgresql" else _sqlite_tables(_sqlite_path(url))
    if tables and not force:
        raise BackupError(
            f"{service}: its database is not empty ({tables} tables); restore over it with "
            "--force (everything in it is replaced)"
        )


# Every event the backup's outboxes hold (a day's, the relay's retention) is published again
# after a restore: the databases were copied one after another, and JetStream is not restored,
# so an event a consumer had not yet taken when its database was copied would be lost. A
# consumer drops what it already had (its inbox, by CloudEvents id).
REPUBLISH = "UPDATE outbox SET sent_at = NULL, stream_seq = NULL WHERE sent_at IS NOT NULL"


def restore_sqlite(url: str, image: bytes, keys: keyring.Rows | None) -> tuple[int, int]:
    """Replace the file's content with the image (through SQLite, so WAL and -shm agree), its
    data keys put back from `keys`: (keys inserted, keys skipped)."""
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(":memory:")
    target = sqlite3.connect(path)
    try:
        source.deserialize(image)
        if keyring.has_table(source, "outbox"):
            source.execute(REPUBLISH)
            source.commit()
        counts = keyring.put_into_sqlite(source, keys) if keys else (0, 0)
        source.backup(target)
        return counts
    finally:
        source.close()
        target.close()


def read_keyring(
    path: Path, ids: list[x25519.Identity], manifest: Mapping[str, Any]
) -> dict[str, keyring.Rows]:
    """Each database's data keys, from the keyring at `path`."""
    if not path.is_file():
        raise BackupError(
            f"no keyring at {path}: the backup holds no data key (they are kept apart, in the "
            f"{keyring.FILE_NAME} each backup writes beside it); without it every case's "
            "personal data stays unreadable. Give --keyring FILE, or --without-keys to restore "
            "without them; nothing was changed"
        )
    try:
        return keyring.parse(decrypt(path, ids), backup_created_at=manifest["created_at"])
    except keyring.KeyringError as exc:
        raise BackupError(f"{path}: {exc}; nothing was changed") from None


def restore(
    path: Path,
    ids: list[x25519.Identity],
    urls: Mapping[str, str],
    *,
    force: bool,
    env: Mapping[str, str] | None = None,
    keyring_file: Path | None = None,
    without_keys: bool = False,
) -> dict[str, Any]:
    """Check everything, then restore every database of the backup and the data keys of the
    keyring (`keyring_file`, by default the one beside the backup); return its manifest, each
    database's entry with `keys_restored` and `keys_skipped` (of cases it does not hold)."""
    manifest, data = verified(decrypt(path, ids))
    env = os.environ if env is None else env
    entries: dict[str, dict[str, Any]] = manifest["databases"]
    keys: dict[str, keyring.Rows] = {}
    if not without_keys and any("data_keys" in e for e in entries.values()):
        keys = read_keyring(keyring_file or keyring_path(path), ids, manifest)
    for service, entry in entries.items():
        if service not in urls:
            raise BackupError(f"{service}: the backup has it, this installation does not")
        if entry["kind"] != _kind(urls[service]):
            raise BackupError(
                f"{service}: the backup holds a {entry['kind']} database, the target is "
                f"{_kind(urls[service])}"
            )
    for service in entries:
        check_stopped(service, urls[service], env)
        check_target(service, urls[service], force)
    for service, entry in entries.items():
        rows = keys.get(service)
        if entry["kind"] == "sqlite":
            counts = restore_sqlite(urls[service], data[service], rows)
        else:
            pg.restore(urls[service], data[service], then=REPUBLISH)
            counts = pg.insert_rows(urls[service], keyring.TABLE, rows) if rows else (0, 0)
        entry["keys_restored"], entry["keys_skipped"] = counts
    return manifest
