"""The plumbing tables every service has in its own database: outbox and inbox.

Their migrations live once, in `jejaring.shared.migrations` (the `plumbing` branch), and each
service's migrations depend on that branch.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
)

from jejaring.shared.db import UtcDateTime

metadata = MetaData()

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("msg_id", String(64), nullable=False, unique=True),
    Column("subject", String(255), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("stream_seq", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", String(500), nullable=True),
    Index(
        "ix_outbox_unsent",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("msg_id", String(100), primary_key=True),
    Column("subject", String(255), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Index("ix_inbox_received_at", "received_at"),  # pruning (jejaring.shared.messaging.inbox)
)
