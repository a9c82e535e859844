"""A case's personal fields, sealed with its data key on CASES (`CaseSnapshot.sealed`).

What identifies a person (victims' names, birth dates, phones, addresses, disabilities, the
case's description and a legal aid proof's number) travels and rests only sealed; what routing,
lists and reports need (kelurahan, dates, forms of violence, risk, ages, sexes, needs,
consent) stays in the clear. `conceal` moves the fields into the seal, `reveal` brings them
back for whoever holds the key, `strip` drops them (what is kept once the case no longer
needs them, or after its key was erased).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TypeVar

from jejaring.shared import crypto
from jejaring.shared.contract.events import (
    CaseSnapshot,
    LegalAidProof,
    LongText,
    Model,
    ShortText,
    Victim,
)

PURPOSE = "case.personal"

C = TypeVar("C", bound=CaseSnapshot)  # CaseCreated, CaseUpdated: what goes in keeps its type


class VictimPersonal(Model):
    name: ShortText | None = None
    birth_date: dt.date | None = None
    phone: ShortText | None = None
    address: ShortText | None = None
    disability: ShortText | None = None


class CasePersonal(Model):
    victims: tuple[VictimPersonal, ...] = ()
    description: LongText | None = None
    legal_aid_proof_number: ShortText | None = None


_VICTIM_FIELDS = tuple(VictimPersonal.model_fields)


def personal_of(case: CaseSnapshot) -> CasePersonal:
    return CasePersonal(
        victims=tuple(
            VictimPersonal(**{f: getattr(v, f) for f in _VICTIM_FIELDS}) for v in case.victims
        ),
        description=case.description,
        legal_aid_proof_number=case.legal_aid_proof.number if case.legal_aid_proof else None,
    )


def _with(case: C, personal: CasePersonal, sealed: str | None) -> C:
    victims = []
    for n, v in enumerate(case.victims):
        own = personal.victims[n] if n < len(personal.victims) else VictimPersonal()
        victims.append(Victim(**{**v.model_dump(), **own.model_dump()}))
    proof = case.legal_aid_proof
    if proof is not None:
        proof = LegalAidProof(kind=proof.kind, number=personal.legal_aid_proof_number)
    return case.model_copy(
        update={
            "victims": tuple(victims),
            "description": personal.description,
            "legal_aid_proof": proof,
            "sealed": sealed,
        }
    )


def seal_personal(key: bytes, case_id: uuid.UUID, personal: CasePersonal) -> str:
    return crypto.seal(
        key, personal.model_dump_json().encode(), associated=crypto.aad(case_id, PURPOSE)
    )


def open_personal(key: bytes, case_id: uuid.UUID, sealed: str) -> CasePersonal:
    """`crypto.Unreadable` if `sealed` does not open with `key` for this case."""
    plain = crypto.unseal(key, sealed, associated=crypto.aad(case_id, PURPOSE))
    return CasePersonal.model_validate_json(plain)


def conceal(case: C, key: bytes) -> C:
    """`case` with its personal fields sealed with `key` and absent from the clear part."""
    personal = personal_of(case)
    return _with(case, CasePersonal(), seal_personal(key, case.case_id, personal))


def reveal(case: C, key: bytes | None) -> C:
    """`case` with its sealed personal fields opened (as it was before `conceal`). A case
    without a seal is returned as it is; with a seal and no key (erased), stripped."""
    if case.sealed is None:
        return case
    if key is None:
        return strip(case)
    return _with(case, open_personal(key, case.case_id, case.sealed), None)


def strip(case: C) -> C:
    """`case` without any personal field, sealed or clear."""
    return _with(case, CasePersonal(), None)
