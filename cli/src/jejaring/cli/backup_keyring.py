"""The keyring of backups: the cases' data keys, kept out of the database archive.

A backup's archive holds the table `data_key` empty; its rows go into one keyring file beside
the backups (`jejaring-keyring.age`, encrypted with age like them), which every backup
replaces. An erased case's key is then in no file once the next backup has run, so the case
cannot be read from any archive, however old (docs/decisions.md, "Encryption at rest").
The keyring is JSON: per database its kind and its rows, as the database gives them (SQLite:
bytes as {"base64": ...}; PostgreSQL: `row_to_json`, put back with `json_populate_record`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
from typing import Any

FORMAT = "jejaring-keyring/1"
FILE_NAME = "jejaring-keyring.age"
TABLE = "data_key"

Rows = list[dict[str, Any]]


class KeyringError(ValueError):
    """A keyring that cannot be used with this backup, with the reason."""


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def take_out_of_sqlite(image: sqlite3.Connection) -> Rows | None:
    """Remove the data keys from a SQLite image and return them (None: no such table). The
    image is vacuumed, so no free page keeps a key (nor anything else deleted before)."""
    if not has_table(image, TABLE):
        return None
    cursor = image.execute(f"SELECT * FROM {TABLE}")  # noqa: S608 - a constant table name
    names = [d[0] for d in cursor.description]
    rows = [
        {
            n: {"base64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v
            for n, v in zip(names, row, strict=True)
        }
        for row in cursor
    ]
    image.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - a constant table name
    image.commit()
    image.execute("VACUUM")
    return rows


def put_into_sqlite(conn: sqlite3.Connection, rows: Rows) -> tuple[int, int]:
    """Insert the data keys: (inserted, skipped), a key whose case the database does not hold
    (recorded after its backup) being skipped."""
    conn.execute("PRAGMA foreign_keys=ON")
    inserted = skipped = 0
    for row in rows:
        values = [base64.b64decode(v["base64"]) if isinstance(v, dict) else v for v in row.values()]
        columns = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        try:
            conn.execute(f"INSERT INTO {TABLE} ({columns}) VALUES ({marks})", values)  # noqa: S608
            inserted += 1
        except sqlite3.IntegrityError:
            skipped += 1
    conn.commit()
    return inserted, skipped


def render(keys: dict[str, tuple[str, Rows]], *, now: dt.datetime) -> bytes:
    """The keyring's plaintext: per database (service) its kind and its data keys."""
    databases = {
        s: {"kind": kind, "table": TABLE, "rows": rows} for s, (kind, rows) in keys.items()
    }
    created = now.isoformat(timespec="seconds")
    return json.dumps({"format": FORMAT, "created_at": created, "databases": databases}).encode()


def parse(plaintext: bytes, *, backup_created_at: str) -> dict[str, Rows]:
    """Each database's data keys; a keyring older than the backup is refused (a case recorded
    between the two would have no key)."""
    try:
        content = json.loads(plaintext)
        if content.get("format") != FORMAT:
            raise KeyringError(f"not a {FORMAT} keyring")
        made = dt.datetime.fromisoformat(content["created_at"])
        databases = {s: list(e["rows"]) for s, e in content["databases"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, KeyringError):
            raise
        raise KeyringError(f"not a {FORMAT} keyring") from None
    if made < dt.datetime.fromisoformat(backup_created_at):
        raise KeyringError(
            f"written {content['created_at']}, before the backup ({backup_created_at}): use "
            "the keyring written with that backup or a later one"
        )
    return databases
