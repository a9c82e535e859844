"""The hash chain under each service's audit trail: plumbing only. Each service keeps its own
tables (the columns below, plus any of its own), its own actions and who may read them.

A record's hash is the SHA-256 of its canonical form (`canonical`), which includes the hash of
the record before it. A record altered, deleted or moved breaks the chain where `verify` says.
Appends are serialised by the one-row head (`audit_head`): an append first updates it (a row
lock on PostgreSQL, the write lock on SQLite), so the chain stays linear with several replicas,
and the head keeps the last record's number and hash, so deleting the last records is noticed
too. A record is written in the same transaction as the action it records; take the head last
in a transaction (after the rows the action locks), so that two transactions never wait on
each other in opposite orders.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Generic, Literal, TypeVar, cast

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, String, Table, Uuid, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from jejaring.shared.db import UtcDateTime
from jejaring.shared.refusals import FieldError, Unavailable

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first record
# The service itself, acting on its own (a retention job, a seed): no person.
SYSTEM_ID = uuid.UUID(int=1)
SYSTEM_ROLE = "system"
_VERIFY_BATCH = 1000


class AuditUnavailable(Unavailable):
    """An action or a read that cannot be written to the audit trail is not done (503)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "audit",
                "audit_unavailable",
                "Akses tidak dapat dicatat di jejak audit; coba lagi sebentar lagi.",
                "The access could not be recorded in the audit trail; try again shortly.",
            )
        )


class RecordColumns:
    """The columns every trail's record has (a mixin for a service's own table `audit_record`):
    who, in what role, did what, to which case or subject, when and from where; never the data.
    `hash` is the SHA-256 of the record with `prev_hash`, the hash of the record before it."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    case_reference: Mapped[str | None] = mapped_column(String(32), index=True)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # what was acted on, if any
    client: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class HeadColumns:
    """The trail's one-row head (a mixin for `audit_head`): the number and hash of its last
    record. Every append updates it first, which serialises appends and lets `verify` notice
    that the last records were deleted."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def _text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(record: RecordColumns) -> bytes:
    """The bytes a record's hash is taken over: every column but `hash`, as compact JSON with
    sorted keys; times in UTC to the microsecond, ids as canonical UUID text."""
    columns = record.__mapper__.column_attrs  # type: ignore[attr-defined]
    fields = {c.key: _text(getattr(record, c.key)) for c in columns if c.key != "hash"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def record_hash(record: RecordColumns) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


Reason = Literal["altered", "missing", "reordered"]


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the records checked, and the first break if there is one."""

    records: int
    broken_at: int | None = None
    reason: Reason | None = None
    detail: str | None = None


class AuditVerdictOut(BaseModel):
    """Whether the chain is intact; if not, the first record where it breaks and why (the
    answer of each service's GET /api/v1/audit/verify, which `jejaring audit verify` reads)."""

    intact: bool
    records: int = Field(description="Records checked, in order, before any break.")
    broken_at: int | None = None
    reason: Reason | None = None
    detail: str | None = None

    @classmethod
    def of(cls, verdict: Verdict) -> AuditVerdictOut:
        return cls(intact=verdict.broken_at is None, **dataclasses.asdict(verdict))


class RecordOut(BaseModel):
    """One record of a trail as a service's API shows it (each adds its own columns)."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    user_id: uuid.UUID
    role: str
    action: str
    case_reference: str | None
    subject_id: uuid.UUID | None
    client: str | None = Field(description="The client's address as the service saw it.")
    prev_hash: str
    hash: str


R = TypeVar("R", bound=RecordColumns)


class Chain(Generic[R]):
    """One service's trail: its record table and its head table."""

    def __init__(self, record: type[R], head: type[HeadColumns]) -> None:
        self.model = record
        self._records = cast(Table, record.__table__)  # type: ignore[attr-defined]
        self._head = cast(Table, head.__table__)  # type: ignore[attr-defined]

    async def append(self, session: AsyncSession, **fields: Any) -> R:
        """Add one record (`fields`: every column but seq, prev_hash and hash) in `session`'s
        transaction; the caller commits it with the action it records. Waits for any other
        append in progress until that one commits. AuditUnavailable if the trail cannot take
        it: the action is then not done."""
        head_t = self._head
        try:
            head = (
                await session.execute(
                    update(head_t)
                    .where(head_t.c.id == 1)
                    .values(seq=head_t.c.seq + 1)
                    .returning(head_t.c.seq, head_t.c.hash)
                )
            ).one_or_none()
        except DBAPIError as exc:
            raise AuditUnavailable() from exc
        if head is None:  # the head row was deleted: no chain to add to
            log.error("audit trail head missing: accesses are refused until it is restored")
            raise AuditUnavailable()
        client = fields.pop("client", None)
        model: Any = self.model  # a mapped class: its columns are its keyword arguments
        record: R = model(
            seq=head.seq, prev_hash=head.hash, client=client[:64] if client else None, **fields
        )
        record.hash = record_hash(record)
        columns = record.__mapper__.column_attrs  # type: ignore[attr-defined]
        try:
            await session.execute(
                self._records.insert().values({c.key: getattr(record, c.key) for c in columns})
            )
            await session.execute(update(head_t).where(head_t.c.id == 1).values(hash=record.hash))
        except DBAPIError as exc:
            raise AuditUnavailable() from exc
        return record

    async def record(self, session: AsyncSession, *, commit: bool, **fields: Any) -> R:
        """`append`, and with `commit` (a read's record) commit it before the answer leaves: a
        read that cannot be recorded is refused (AuditUnavailable), never served."""
        try:
            record = await self.append(session, **fields)
            if commit:
                await session.commit()
        except AuditUnavailable:
            if commit:
                await session.rollback()
            raise
        except DBAPIError as exc:  # the commit of a read
            await session.rollback()
            raise AuditUnavailable() from exc
        return record

    async def verify(self, session: AsyncSession) -> Verdict:
        """Walk the chain from its first record to the head. The first break is reported at
        the record where it shows: `missing` (a gap in the numbers, or fewer records than the
        head counts), `altered` (a record's content does not match its hash, or the head's
        hash is not the last record's), `reordered` (a genuine record whose previous hash is
        not the hash of the record before it)."""
        head_t, model = self._head, self.model
        head = (
            await session.execute(select(head_t.c.seq, head_t.c.hash).where(head_t.c.id == 1))
        ).one_or_none()
        if head is None:
            return Verdict(0, 1, "missing", "the chain's head (audit_head) is missing")
        expected, prev, count = 1, GENESIS, 0
        while expected <= head.seq:
            batch = (
                await session.scalars(
                    select(model)
                    .where(model.seq >= expected, model.seq <= head.seq)
                    .order_by(model.seq)
                    .limit(_VERIFY_BATCH)
                )
            ).all()
            if not batch:
                break
            for record in batch:
                if record.seq != expected:
                    return Verdict(
                        count,
                        record.seq,
                        "missing",
                        f"records {expected}..{record.seq - 1} are missing",
                    )
                if record_hash(record) != record.hash:
                    return Verdict(
                        count, record.seq, "altered", "its content does not match its hash"
                    )
                if record.prev_hash != prev:
                    return Verdict(
                        count,
                        record.seq,
                        "reordered",
                        "its previous hash is not the hash of the record before it (that one "
                        "was replaced, or this one moved)",
                    )
                prev, expected, count = record.hash, expected + 1, count + 1
        if count < head.seq:
            return Verdict(
                count,
                count + 1,
                "missing",
                f"records {count + 1}..{head.seq} are missing (the head counts {head.seq})",
            )
        if head.hash != prev:
            return Verdict(count, head.seq, "altered", "the head's hash is not the last record's")
        return Verdict(count)

    async def page(
        self,
        session: AsyncSession,
        *,
        where: list[ColumnElement[bool]],
        page: int,
        per_page: int,
        newest_first: bool = False,
    ) -> tuple[list[R], int]:
        """The records that meet every condition of `where`, oldest (or newest) first, and
        how many."""
        model = self.model
        query = select(model).where(*where)
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        order = model.seq.desc() if newest_first else model.seq
        rows = await session.scalars(
            query.order_by(order).offset((page - 1) * per_page).limit(per_page)
        )
        return list(rows.all()), int(total or 0)


Out = TypeVar("Out", bound=RecordOut)


def shown(records: list[Any], out: type[Out], zone: tzinfo) -> list[Out]:
    """Records as `out`, their time in `zone` (the region's)."""
    return [out.model_validate(r).model_copy(update={"at": r.at.astimezone(zone)}) for r in records]


async def verified(
    session: AsyncSession, chain: Chain[Any], record: Callable[[], Awaitable[object]]
) -> AuditVerdictOut:
    """Walk `chain`, then `record` that it was walked. The verdict holds no personal data and
    it is what says why the trail cannot take records (its head deleted): answered even if
    the trail refuses that record."""
    verdict = await chain.verify(session)
    try:
        await record()
    except AuditUnavailable:
        log.warning("audit verify answered without its own record: the trail refused it")
    return AuditVerdictOut.of(verdict)


def create_tables(*extra: sa.Column[Any]) -> None:
    """In a migration: a service's `audit_record` (the columns of RecordColumns, and `extra`
    ones, each indexed) and its `audit_head`, at the genesis. Applied migrations call it:
    never change what it makes; a new column of every trail is a new migration."""
    from alembic import op  # only where migrations run (migrate.py)

    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("case_reference", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        *extra,
    )
    for name in ("user_id", "case_reference", *(c.name for c in extra)):
        op.create_index(f"ix_audit_record_{name}", "audit_record", [name])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def drop_tables(*extra: str) -> None:
    """In a migration's downgrade: what `create_tables` made (`extra`: its extra columns)."""
    from alembic import op

    op.drop_table("audit_head")
    for name in reversed(("user_id", "case_reference", *extra)):
        op.drop_index(f"ix_audit_record_{name}", table_name="audit_record")
    op.drop_table("audit_record")
