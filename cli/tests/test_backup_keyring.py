"""Backups and crypto-shredding, on SQLite and PostgreSQL: a backup's archive holds the table
`data_key` empty; the keys are in the keyring beside it, which the next backup replaces. A key
deleted (a case erased) before a backup is in neither its keyring nor any older archive; a
restore of an older archive with the latest keyring gets every key but the erased case's."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import sqlite3
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from jejaring.cli import backup, backup_pg
from jejaring.cli.main import app
from jejaring.cli.stack import PROCESSES
from jejaring.shared import db

# Nothing answers on port 1: the services count as stopped (the stack's ports may be in use).
STOPPED = {f"{p}{n.upper()}_PORT": "1" for n in PROCESSES for p in ("", "JEJARING_")}


def schema(kind: str) -> list[str]:
    blob = "BYTEA" if kind == "postgresql" else "BLOB"
    return [
        "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('intake0009')",
        f"CREATE TABLE case_record (id VARCHAR(36) PRIMARY KEY, name TEXT, sealed {blob})",
        "CREATE TABLE data_key (case_id VARCHAR(36) PRIMARY KEY REFERENCES case_record (id) "
        f"ON DELETE CASCADE, key_id VARCHAR(64) NOT NULL, wrapped {blob} NOT NULL, "
        "created_at TIMESTAMP WITH TIME ZONE NOT NULL)",
    ]


async def run(url: str, *statements: tuple[str, dict[str, object]]) -> list[tuple[object, ...]]:
    """Run statements (as the service would: db.create_engine); the last one's rows."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            result = None
            for sql, params in statements:
                result = await conn.execute(text(sql), params)
            return [tuple(r) for r in result] if result is not None and result.returns_rows else []
    finally:
        await engine.dispose()


def new_case(url: str) -> tuple[str, bytes, bytes]:
    """A case with a sealed field and its wrapped data key: (id, sealed, wrapped)."""
    case_id, sealed, wrapped = str(uuid.uuid4()), os.urandom(24), os.urandom(40)
    asyncio.run(
        run(
            url,
            (
                "INSERT INTO case_record VALUES (:id, :name, :sealed)",
                {"id": case_id, "name": f"case-{case_id}", "sealed": sealed},
            ),
            (
                "INSERT INTO data_key VALUES (:id, :key_id, :wrapped, CURRENT_TIMESTAMP)",
                {"id": case_id, "key_id": f"k-{case_id}", "wrapped": wrapped},
            ),
        )
    )
    return case_id, sealed, wrapped


def keys_in(url: str) -> dict[str, bytes]:
    rows = asyncio.run(run(url, ("SELECT case_id, wrapped FROM data_key", {})))
    return {str(case_id): bytes(wrapped) for case_id, wrapped in rows}  # type: ignore[arg-type]


def holds(blob: bytes, secret: bytes) -> bool:
    """`secret` in `blob` as raw bytes, base64 (SQLite keyring) or hex (PostgreSQL)."""
    return any(form in blob for form in (secret, base64.b64encode(secret), secret.hex().encode()))


def archived_intake(path: Path, identity: x25519.Identity, kind: str) -> bytes:
    """The intake database inside a backup, as bytes that show every value it holds."""
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(path.read_bytes(), [identity]))) as tar:
        member = tar.extractfile("intake.sqlite" if kind == "sqlite" else "intake.pgdump")
        assert member is not None
        data = member.read()
    if kind == "postgresql":  # the custom format is compressed: as plain SQL
        done = subprocess.run(
            [backup_pg.tool("pg_restore"), "-f", "-"], input=data, capture_output=True, check=True
        )
        return done.stdout
    return data


def test_an_erased_cases_key_is_in_no_backup_after_the_next_one(
    database_url: str, tmp_path: Path
) -> None:
    kind = make_url(database_url).get_backend_name()
    asyncio.run(run(database_url, *((sql, {}) for sql in schema(kind))))
    urls = {"intake": database_url}
    identity = x25519.Identity.generate()
    to = [identity.to_public()]
    erased, kept = new_case(database_url), new_case(database_url)

    first = tmp_path / "intake-1.age"
    manifest = backup.write_backup(first, to, urls)
    assert manifest["databases"]["intake"]["data_keys"] == "jejaring-keyring.age"
    ring = tmp_path / "jejaring-keyring.age"
    plain_ring = pyrage.decrypt(ring.read_bytes(), [identity])
    assert holds(plain_ring, erased[2]) and holds(plain_ring, kept[2])
    older = archived_intake(first, identity, kind)
    assert holds(older, erased[1]) and holds(older, kept[1])  # the scan sees the cases ...
    assert not holds(older, erased[2]) and not holds(older, kept[2])  # ... and no key

    # The case is erased (its key deleted); a case is recorded; the next backup is taken.
    asyncio.run(run(database_url, ("DELETE FROM data_key WHERE case_id = :id", {"id": erased[0]})))
    later = new_case(database_url)
    second = tmp_path / "intake-2.age"
    backup.write_backup(second, to, urls)
    plain_ring = pyrage.decrypt(ring.read_bytes(), [identity])
    assert not holds(plain_ring, erased[2])
    assert holds(plain_ring, kept[2]) and holds(plain_ring, later[2])
    assert sorted(p.name for p in tmp_path.iterdir() if "keyring" in p.name) == [ring.name]
    assert not holds(archived_intake(second, identity, kind), later[2])

    # The older archive restored with the latest keyring: every key but the erased case's.
    if kind == "sqlite":
        Path(make_url(database_url).database or "").unlink()
    restored = backup.restore(first, [identity], urls, force=True, env=STOPPED)
    entry = restored["databases"]["intake"]
    assert (entry["keys_restored"], entry["keys_skipped"]) == (1, 1)  # `later`: not in it
    assert keys_in(database_url) == {kept[0]: kept[2]}
    names = asyncio.run(run(database_url, ("SELECT id FROM case_record ORDER BY id", {})))
    assert sorted(str(n) for (n,) in names) == sorted([erased[0], kept[0]])

    # Without its keyring a restore is refused, naming it, and changes nothing.
    ring.rename(tmp_path / "elsewhere.age")
    with pytest.raises(backup.BackupError, match="no keyring at .*jejaring-keyring.age"):
        backup.restore(second, [identity], urls, force=True, env=STOPPED)
    assert keys_in(database_url) == {kept[0]: kept[2]}
    # An older keyring than the backup is refused too (cases recorded between have no key).
    time.sleep(1.1)  # the times are to the second
    backup.write_backup(tmp_path / "intake-3.age", to, urls)
    newest = tmp_path / "jejaring-keyring.age"
    newest.unlink()
    with pytest.raises(backup.BackupError, match="before the backup"):
        backup.restore(
            tmp_path / "intake-3.age",
            [identity],
            urls,
            force=True,
            env=STOPPED,
            keyring_file=tmp_path / "elsewhere.age",
        )


def test_restore_names_the_missing_keyring_and_puts_the_keys_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the commands, on the SQLite files `jejaring up` uses."""
    for name in PROCESSES:
        path = tmp_path / f"{name}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if name == "intake":
            asyncio.run(run(url, *((sql, {}) for sql in schema("sqlite"))))
        else:
            sqlite3.connect(path).execute("CREATE TABLE person (name TEXT)").connection.commit()
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    for variable, value in STOPPED.items():
        monkeypatch.setenv(variable, value)
    case_id, _, wrapped = new_case(f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}")
    runner = CliRunner()
    made = runner.invoke(app, ["backup", "keygen", "--out", str(tmp_path / "id.txt")])
    backups = tmp_path / "backups"
    backups.mkdir()
    out = backups / "b.age"
    taken = runner.invoke(
        app, ["backup", "--out", str(out), "--recipient", made.stdout.split()[-1]]
    )
    assert taken.exit_code == 0, taken.output
    assert f"{backups / 'jejaring-keyring.age'}: the cases' data keys" in taken.output
    for name in PROCESSES:
        (tmp_path / f"{name}.db").unlink()

    (backups / "jejaring-keyring.age").rename(tmp_path / "ring.age")
    restore = ["restore", str(out), "--identity", str(tmp_path / "id.txt")]
    refused = runner.invoke(app, restore)
    assert refused.exit_code == 1
    assert f"no keyring at {backups / 'jejaring-keyring.age'}" in refused.output, refused.output
    assert "--keyring" in refused.output and "--without-keys" in refused.output
    assert not (tmp_path / "intake.db").exists()

    restored = runner.invoke(app, [*restore, "--keyring", str(tmp_path / "ring.age")])
    assert restored.exit_code == 0, restored.output
    assert "intake: restored, 1 data keys" in restored.output
    assert keys_in(f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}") == {case_id: wrapped}
