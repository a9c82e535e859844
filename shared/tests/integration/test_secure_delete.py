"""SQLite as the services open it (`db.create_engine`): a deleted row's bytes are not left in
the database file or its WAL once checkpointed; with secure delete off they are (the scan can
fail)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from jejaring.shared import db


async def deleted_marker_left_in(path: Path, *, secure_delete: bool) -> list[str]:
    """Write a row with a marker among others, delete it, checkpoint: the files holding it."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    if not secure_delete:  # after the service's own pragmas: everything else the same

        @event.listens_for(engine.sync_engine, "connect")
        def off(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

    marker = f"Siti-Rahayu-{uuid.uuid4().hex}"
    try:
        async with engine.begin() as conn:
            mode = (await conn.execute(text("PRAGMA secure_delete"))).scalar_one()
            assert mode == (1 if secure_delete else 0)
            await conn.execute(text("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT)"))
            for n in range(40):
                await conn.execute(text("INSERT INTO person (name) VALUES (:n)"), {"n": f"p{n}"})
            await conn.execute(text("INSERT INTO person (name) VALUES (:n)"), {"n": marker})
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM person WHERE name = :n"), {"n": marker})
        async with engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM person"))).scalar_one()
            assert left == 40
        # The service's connections still open; a checkpoint moves the WAL into the file.
        other = sqlite3.connect(path, isolation_level=None)
        try:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        finally:
            other.close()
        files = [path, path.with_name(path.name + "-wal")]
        assert files[1].exists()  # still open: the WAL is there, checkpointed
        return [p.name for p in files if marker.encode() in p.read_bytes()]
    finally:
        await engine.dispose()


async def test_a_deleted_row_is_not_left_in_the_sqlite_files(tmp_path: Path) -> None:
    assert await deleted_marker_left_in(tmp_path / "on.db", secure_delete=True) == []


async def test_without_secure_delete_the_deleted_row_is_found(tmp_path: Path) -> None:
    assert await deleted_marker_left_in(tmp_path / "off.db", secure_delete=False) == ["off.db"]
