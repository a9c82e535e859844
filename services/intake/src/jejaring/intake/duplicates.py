"""Possible duplicates: each victim of an open case indexed by a keyed hash of their normalised
name and birth date, so that recording the same victim again warns the officer and links the
two cases, without the index ever holding a name or a date.

The hash is HMAC-SHA256 with an index key derived (HKDF) from intake's current master key, not
a case's data key (those are erased case by case, and a hash must compare across cases). A
case indexed with an older master key is indexed again at start (`index_open_cases`), as the
keyring re-wraps data keys. A victim without a birth date gets no fingerprint: a name alone
matches too many people (docs/decisions.md). Only open cases are in the index: closing,
merging or erasing a case takes it out (`forget`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.intake import sealing
from jejaring.intake.batches import in_batches
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, CaseLink, CaseMerge, DuplicateIndex, VictimFingerprint
from jejaring.shared import crypto
from jejaring.shared.db import insert_or_ignore

log = logging.getLogger(__name__)

_INDEX_LABEL = b"jejaring intake victim index v1"
_SEPARATOR = "\x1f"
_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """A name as the index compares it: Unicode NFKC, case folded, accents stripped, dashes
    as spaces, other punctuation and symbols removed, whitespace collapsed ("Siti  Aminah",
    "SITI AMINAH" and "Sití Aminah" are one name; "Nur'aini" is "Nuraini")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", folded):
        category = unicodedata.category(char)
        if category == "Mn":  # a combining accent
            continue
        if category == "Pd":
            kept.append(" ")
        elif category[0] not in "PS":
            kept.append(char)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", "".join(kept))).strip()


@dataclass(frozen=True)
class IndexKey:
    """The index's HMAC key, derived from the master key `key_id`."""

    key_id: str
    key: bytes

    @classmethod
    def of(cls, master: crypto.MasterKeys) -> IndexKey:
        """The index key of the current master key."""
        return cls(*master.derive(_INDEX_LABEL))

    def fingerprint(self, name: str, birth_date: dt.date | str) -> str | None:
        """The keyed hash of a victim; None when the name is empty once normalised."""
        normalised = normalise_name(name)
        if not normalised:
            return None
        born = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
        message = f"{normalised}{_SEPARATOR}{born}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()


def fingerprints(index: IndexKey, victims: Iterable[dict[str, Any]]) -> set[str]:
    """The fingerprints of the victims that have a name and a birth date."""
    found = set()
    for victim in victims:
        name, born = victim.get("name"), victim.get("birth_date")
        if name and born:
            value = index.fingerprint(str(name), str(born))
            if value is not None:
                found.add(value)
    return found


_LINK = insert_or_ignore(cast(Table, CaseLink.__table__))


async def index_case(
    session: AsyncSession, case: Case, *, keyring: Keyring, now: dt.datetime, new: bool = False
) -> list[uuid.UUID]:
    """Index an open case (its personal fields shown) and link it to the other open cases
    one of its victims matches; returns their ids, oldest link first. `new`: recorded in this
    transaction, so nothing of it is in the index yet."""
    index = IndexKey.of(keyring.master)
    if not new:
        await forget(session, case.id)
    session.add(DuplicateIndex(case_id=case.id, key_id=index.key_id, indexed_at=now))
    mine = fingerprints(index, case.victims)
    session.add_all(VictimFingerprint(fingerprint=f, case_id=case.id) for f in sorted(mine))
    if not mine:
        return []
    await session.flush()
    others = (
        await session.scalars(
            select(VictimFingerprint.case_id)
            .join(Case, Case.id == VictimFingerprint.case_id)
            .where(
                VictimFingerprint.fingerprint.in_(mine),
                VictimFingerprint.case_id != case.id,
                Case.status == "open",
                Case.erased_at.is_(None),
            )
            .distinct()
        )
    ).all()
    for other in others:
        await session.execute(_LINK, {"case_id": case.id, "other_case_id": other, "linked_at": now})
    if others:
        log.info("possible duplicate recorded", extra={"matches": len(others)})
    return list(others)


async def forget(session: AsyncSession, case_id: uuid.UUID) -> None:
    """Take the case out of the index (closed, merged or erased: it matches no longer)."""
    await session.execute(delete(VictimFingerprint).where(VictimFingerprint.case_id == case_id))
    await session.execute(delete(DuplicateIndex).where(DuplicateIndex.case_id == case_id))


async def erased(session: AsyncSession, case_id: uuid.UUID) -> None:
    """An erased case: out of the index, and its links to other cases gone (that two cases
    were one victim's says something about the victim); a merge's pointer stays (ids only)."""
    await forget(session, case_id)
    await session.execute(
        delete(CaseLink).where(or_(CaseLink.case_id == case_id, CaseLink.other_case_id == case_id))
    )


async def index_open_cases(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, *, now: dt.datetime
) -> int:
    """At start, batch by batch: index the open cases recorded before the index existed, and
    index again those indexed with an older master key (rotation). Returns how many."""
    current = IndexKey.of(keyring.master).key_id

    async def index(session: AsyncSession, case: Case) -> None:
        await sealing.show(session, case, keyring)
        await index_case(session, case, keyring=keyring, now=now)

    fresh = select(DuplicateIndex.case_id).where(DuplicateIndex.key_id == current)
    due = select(Case).where(
        Case.status == "open",
        Case.erased_at.is_(None),
        Case.sealed.is_not(None),
        Case.id.not_in(fresh),
    )
    done = await in_batches(sessions, due.order_by(Case.created_at, Case.id), index)
    if done:
        log.info("open cases indexed for possible duplicates", extra={"count": done})
    return done


async def kept_case_of(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID:
    """The case a merged case lives on in (following merges of merges); the case itself if it
    was never merged."""
    seen = {case_id}
    while True:
        into = await session.scalar(
            select(CaseMerge.into_case_id).where(CaseMerge.case_id == case_id)
        )
        if into is None or into in seen:
            return case_id
        seen.add(into)
        case_id = into


@dataclass(frozen=True)
class Related:
    """A case's possible duplicates (open, linked either way), the case it was merged into,
    and the cases merged into it."""

    possible: list[Case]
    merged_into: Case | None
    merged_from: list[Case]


async def possible_of(session: AsyncSession, case: Case) -> list[Case]:
    """The open cases linked to an open `case` (either way), oldest report first."""
    if case.status != "open" or case.erased_at is not None:
        return []
    linked = (
        select(CaseLink.other_case_id)
        .where(CaseLink.case_id == case.id)
        .union(select(CaseLink.case_id).where(CaseLink.other_case_id == case.id))
    )
    found = await session.scalars(
        select(Case)
        .where(Case.id.in_(linked), Case.status == "open", Case.erased_at.is_(None))
        .order_by(Case.reported_at, Case.reference)
    )
    return list(found.all())


async def related(session: AsyncSession, case: Case) -> Related:
    """What the index and merges say about `case`: ids and references, nothing personal."""
    merge = await session.get(CaseMerge, case.id)
    merged_into = await session.get(Case, merge.into_case_id) if merge else None
    merged_from = await session.scalars(
        select(Case)
        .join(CaseMerge, CaseMerge.case_id == Case.id)
        .where(CaseMerge.into_case_id == case.id)
        .order_by(Case.reference)
    )
    return Related(await possible_of(session, case), merged_into, list(merged_from.all()))
