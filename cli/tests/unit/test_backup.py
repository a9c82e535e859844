"""`jejaring backup` / `restore` on SQLite files: where the databases are, keys, refusals."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pyrage
import pytest
from typer.testing import CliRunner

from jejaring.cli import backup
from jejaring.cli.main import app
from jejaring.cli.stack import PROCESSES, StackConfig

NAME = "Siti Rahmawati"


def test_the_databases_are_where_the_embedded_stack_puts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StackConfig(data_dir=tmp_path / "stack")
    monkeypatch.setenv("JEJARING_DATA_DIR", str(tmp_path / "elsewhere"))
    for name in PROCESSES:  # the environment `jejaring up` starts each process with
        env = config.service_env(name)
        (url,) = (u for s, u in backup.database_urls(env).items() if s == name)
        assert url == f"sqlite+aiosqlite:///{(tmp_path / 'stack').resolve()}/{name}.db"
    compose = {"NOTIFY_DATABASE_URL": "postgresql+asyncpg://notify:pw@db:5432/notify"}
    assert backup.database_urls(compose)["notify"] == compose["NOTIFY_DATABASE_URL"]
    assert backup.database_urls({"JEJARING_DATA_DIR": "/d"})["referral"].endswith("/d/referral.db")


def test_a_wrong_recipient_or_identity_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="recipient age1nope…: not an age public key"):
        backup.recipients(["age1nope"])
    with pytest.raises(backup.BackupError, match="no recipient: give --recipient"):
        backup.recipients([])
    bad = tmp_path / "id.txt"
    bad.write_text("# a comment\nAGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(backup.BackupError, match=r"--identity .*id.txt: not an age identity"):
        backup.identities(bad)


def make_databases(root: Path) -> dict[str, str]:
    urls = {}
    for name in PROCESSES:
        path = root / f"{name}.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (f"{name}0001",))
        conn.execute("CREATE TABLE person (name TEXT)")
        conn.execute("INSERT INTO person VALUES (?)", (NAME,))
        conn.commit()
        conn.close()
        urls[name] = f"sqlite+aiosqlite:///{path}"
    return urls


def test_backup_keygen_and_restore_round_trip_through_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = make_databases(tmp_path)
    for name, url in urls.items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
        # nothing answers there: stopped (the embedded stack's default ports may be in use)
        monkeypatch.setenv(f"{name.upper()}_PORT", "1")
        monkeypatch.setenv(f"JEJARING_{name.upper()}_PORT", "1")
    runner = CliRunner()
    made = runner.invoke(app, ["backup", "keygen", "--out", str(tmp_path / "key.txt")])
    assert made.exit_code == 0, made.output
    monkeypatch.setenv(backup.RECIPIENT_ENV, made.output.split()[-1])
    again = runner.invoke(app, ["backup", "keygen", "--out", str(tmp_path / "key.txt")])
    assert again.exit_code == 1 and "exists; not overwritten" in again.output

    out = tmp_path / "b.age"
    taken = runner.invoke(app, ["backup", "--out", str(out)])
    assert taken.exit_code == 0, taken.output
    assert "intake: sqlite" in taken.output and "revision intake0001" in taken.output
    assert NAME.encode() not in out.read_bytes()

    restore = ["restore", str(out), "--identity", str(tmp_path / "key.txt")]
    refused = runner.invoke(app, restore)
    assert refused.exit_code == 1 and "not empty" in refused.output, refused.output
    for url in urls.values():
        Path(backup._sqlite_path(url)).unlink()
    restored = runner.invoke(app, restore)
    assert restored.exit_code == 0, restored.output
    for url in urls.values():
        conn = sqlite3.connect(backup._sqlite_path(url))
        assert conn.execute("SELECT name FROM person").fetchall() == [(NAME,)]
        conn.close()


def test_a_manifest_that_does_not_match_its_database_is_refused() -> None:
    dump = backup.Dump("intake", "sqlite", b"the database", ["r1"])
    plaintext = backup.archive([dump], now=dt.datetime.now(dt.UTC))
    forged = plaintext.replace(b"the database", b"THE DATABASE")
    assert backup.verified(plaintext)[1] == {"intake": b"the database"}
    with pytest.raises(backup.BackupError, match="intake: checksum mismatch"):
        backup.verified(forged)


def test_a_recipients_file_encrypts_to_every_key_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, url in make_databases(tmp_path).items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    texts, publics = zip(*(backup.new_identity() for _ in range(2)), strict=True)
    keys = tmp_path / "recipients.txt"
    keys.write_text(f"# the office\n{publics[0]}\n\n# the coordinator's laptop\n{publics[1]}\n")
    out = tmp_path / "b.age"
    taken = CliRunner().invoke(app, ["backup", "--out", str(out), "--recipients-file", str(keys)])
    assert taken.exit_code == 0, taken.output
    for text in texts:
        (identity,) = backup.identities(write(tmp_path / "id.txt", text))
        assert backup.read_manifest(pyrage.decrypt(out.read_bytes(), [identity]))["databases"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
