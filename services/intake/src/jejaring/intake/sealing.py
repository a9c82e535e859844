"""A case's personal fields at rest: sealed with the case's data key in `case_record.sealed`,
the plain columns holding them stripped.

Personal (`PERSONAL`): each victim's name, birth date, phone, address and disability, the
description, the reporter's name and phone, the legal aid proof's number and the outcome
note. Everything lists, filters, rules and statistics use stays plain: kelurahan, dates,
status, risk, sensitivity, forms of violence, needs, consent, and each victim's sex, age, age
group and whether a child.

A case loaded from the database holds the stripped values; `show` opens the seal and puts
the personal values back in memory only (`set_committed_value`: never flushed), so that the
rest of intake reads a case as before. `store` is how every change of a case's personal
fields is written: sealed, then shown again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from jejaring.intake.batches import in_batches
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case
from jejaring.shared import crypto
from jejaring.shared.contract.personal import VictimPersonal

log = logging.getLogger(__name__)

PURPOSE = "intake.case"
# What identifies a victim is the contract's rule (the same fields travel sealed on CASES).
VICTIM_FIELDS = tuple(VictimPersonal.model_fields)
REPORTER_FIELDS = ("name", "phone")


def personal(case: Case) -> dict[str, Any]:
    """The case's personal fields as they are in memory."""
    proof = case.legal_aid_proof or {}
    return {
        "victims": [{f: v.get(f) for f in VICTIM_FIELDS} for v in case.victims],
        "reporter": {f: case.reporter.get(f) for f in REPORTER_FIELDS},
        "description": case.description,
        "legal_aid_proof_number": proof.get("number"),
        "outcome_note": case.outcome_note,
    }


def _stripped(case: Case) -> dict[str, Any]:
    """The plain columns without any personal field."""
    proof = case.legal_aid_proof
    return {
        "victims": [
            {k: v for k, v in victim.items() if k not in VICTIM_FIELDS} for victim in case.victims
        ],
        "reporter": {k: v for k, v in case.reporter.items() if k not in REPORTER_FIELDS},
        "description": None,
        "legal_aid_proof": None if proof is None else {**proof, "number": None},
        "outcome_note": None,
    }


def _merged(case: Case, fields: dict[str, Any]) -> dict[str, Any]:
    """The plain columns with `fields` (from `personal`) put back."""
    victims = fields.get("victims") or []
    proof = case.legal_aid_proof
    number = fields.get("legal_aid_proof_number")
    return {
        "victims": [
            {
                **v,
                **{
                    k: x
                    for k, x in (victims[n] if n < len(victims) else {}).items()
                    if x is not None
                },
            }
            for n, v in enumerate(case.victims)
        ],
        "reporter": {
            **case.reporter,
            **{k: x for k, x in (fields.get("reporter") or {}).items() if x is not None},
        },
        "description": fields.get("description"),
        "legal_aid_proof": None if proof is None else {**proof, "number": number},
        "outcome_note": fields.get("outcome_note"),
    }


def _set_in_memory(case: Case, values: dict[str, Any]) -> None:
    for name, value in values.items():
        set_committed_value(case, name, value)


def _strip(case: Case) -> None:
    for name, value in _stripped(case).items():
        setattr(case, name, value)


async def store(session: AsyncSession, case: Case, key: bytes) -> None:
    """Write the case with its personal fields sealed with `key` (flushed), and keep them
    readable in memory."""
    fields = personal(case)
    case.sealed = crypto.seal(
        key, json.dumps(fields, default=str).encode(), associated=crypto.aad(case.id, PURPOSE)
    )
    _strip(case)
    await session.flush()
    _set_in_memory(case, _merged(case, fields))


def _open(case: Case, key: bytes) -> dict[str, Any]:
    assert case.sealed is not None
    return dict(
        json.loads(crypto.unseal(key, case.sealed, associated=crypto.aad(case.id, PURPOSE)))
    )


async def show(session: AsyncSession, case: Case, keyring: Keyring) -> None:
    """Put the case's personal fields back in memory, for whoever may read it (the caller
    checked). An erased case keeps them absent."""
    if case.sealed is None:
        return
    key = await keyring.get(session, case.id)
    if key is not None:
        _set_in_memory(case, _merged(case, _open(case, key)))


def erase(case: Case, *, now: dt.datetime, why: str, reason: str | None) -> None:
    """The case's personal fields gone from its row (the caller deletes its data key)."""
    case.sealed = None
    _strip(case)
    case.erased_at = now
    case.erased_why = why
    case.erasure_reason = reason


async def seal_legacy(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, *, now: dt.datetime
) -> int:
    """Seal, batch by batch, the cases recorded before personal fields were sealed (no seal,
    not erased): a data key each. Idempotent: a sealed case is not taken again."""

    async def seal(session: AsyncSession, case: Case) -> None:
        await store(session, case, keyring.create(session, case.id, now=now))

    unsealed = select(Case).where(Case.sealed.is_(None), Case.erased_at.is_(None))
    done = await in_batches(sessions, unsealed.order_by(Case.id), seal)
    if done:
        log.info("cases recorded before sealing are now sealed", extra={"count": done})
    return done
