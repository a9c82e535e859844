"""Attachments of a case (issue 20): photos and documents an officer adds (an SKTM, a Kartu PKH,
a police report, a photo, another document).

- **Checked by content**: the type is read from the file's first bytes (JPEG, PNG, WebP, PDF),
  never from the name or content type the client sends; the size is bounded by
  INTAKE_ATTACHMENT_MAX_BYTES before the body is read whole (web/uploads.py).
- **Kept outside the database**, in the attachments folder (INTAKE_ATTACHMENTS_DIR), under a
  random name nobody can guess, sealed with the case's data key (AES-256-GCM; the associated
  data binds the case and the attachment), written atomically, owner-only. The row keeps the
  kind, type, size and who added it: no file name, no hash of the content.
- **Never on a stream**: no event carries an attachment or says that one exists.
- **Partners (R6)**: partner staff get a document only through a live referral of their
  partner for a service `PARTNER_SERVICES` allows for its kind.
- **Erasure**: the case's files are deleted and its rows marked; the data key's erasure made
  them unreadable already.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import cases
from jejaring.intake.audit import Action, Trail
from jejaring.intake.auth import Principal
from jejaring.intake.errors import CaseClosed, CaseErased
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, CaseAttachment, InactivePartner, ReferralView
from jejaring.shared import crypto
from jejaring.shared.contract.enums import ReferralStatus, Service
from jejaring.shared.db import on_commit
from jejaring.shared.refusals import FieldError, Invalid, NotFound
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)

PURPOSE = "intake.attachment"


class Kind(StrEnum):
    SKTM = "sktm"  # Surat Keterangan Tidak Mampu
    PKH = "pkh"  # Kartu Program Keluarga Harapan
    POLICE_REPORT = "police_report"  # Laporan Polisi / STPL
    PHOTO = "photo"
    OTHER_DOCUMENT = "other_document"


# R6 for documents: the services whose partner may receive each kind, through a live referral
# of the case for that service. The proofs of inability to pay go to legal aid (R2 asks for
# them). The police report holds the chronology, which R6 gives the police only (referral's
# CASE_FIELDS). A photo may show a face or injuries (R6: a child's face never leaves PPATBM)
# and another document may hold anything: they stay with PPATBM.
PARTNER_SERVICES: dict[Kind, frozenset[Service]] = {
    Kind.SKTM: frozenset({Service.LEGAL_AID}),
    Kind.PKH: frozenset({Service.LEGAL_AID}),
    Kind.POLICE_REPORT: frozenset({Service.LAW_ENFORCEMENT}),
    Kind.PHOTO: frozenset(),
    Kind.OTHER_DOCUMENT: frozenset(),
}

# A referral through which its partner receives documents: one still being worked on. A
# rejected, cancelled, completed or failed referral gives nothing (more).
LIVE = frozenset(
    {
        ReferralStatus.REQUESTED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.ON_HOLD,
    }
)

# The types accepted, by their first bytes, with the file extension a download gets.
CONTENT_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


def sniff(data: bytes) -> str | None:
    """The content type `data` is, by its magic bytes; None if none accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


# --- refusals ---------------------------------------------------------------------------------


def _kinds_text() -> str:
    return ", ".join(k.value for k in Kind)


class BadKind(Invalid):
    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "kind",
                "attachment_kind",
                "Pilih jenis lampiran: SKTM, Kartu PKH, laporan polisi, foto atau dokumen lain.",
                f"Choose the kind of attachment: one of {_kinds_text()}.",
            )
        )


class WrongType(Invalid):
    """The content is none of the types accepted (whatever its name says)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "file",
                "file_type",
                "Jenis berkas tidak diterima: hanya foto JPEG, PNG atau WebP, atau dokumen PDF.",
                "This type of file is not accepted: only JPEG, PNG or WebP photos, or PDF "
                "documents.",
            )
        )


class NoFile(Invalid):
    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "file", "required", "Pilih berkas untuk dilampirkan.", "Choose a file to attach."
            )
        )


class AttachmentNotFound(NotFound):
    """No such attachment, of this case, for this person (or its file is gone)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "attachment_id", "not_found", "Lampiran tidak ditemukan.", "Attachment not found."
            )
        )


class ReferralNotFound(NotFound):
    """Not a referral of the person's partner (or not partner staff)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "referral_id", "not_found", "Rujukan tidak ditemukan.", "Referral not found."
            )
        )


# --- the files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Files:
    """The attachments folder: one sealed file per attachment, 0600 in a 0700 folder."""

    folder: Path

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError("not a storage name")
        return self.folder / name

    def write(self, name: str, token: str) -> None:
        """Write atomically: a temporary file, flushed to disk, then renamed into place."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self._path(name)
        temporary = self.folder / f".{name}.part"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(token.encode("ascii"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def read(self, name: str) -> str | None:
        try:
            return self._path(name).read_bytes().decode("ascii")
        except FileNotFoundError:
            return None

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def remove_on_commit(self, session: AsyncSession, names: list[str]) -> None:
        """Delete these files once the session's transaction commits (never before: a
        rolled-back change still needs them)."""

        def remove() -> None:
            while names:
                self.remove(names.pop())

        on_commit(session, remove)


def _aad(case_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes:
    return crypto.aad(case_id, f"{PURPOSE}:{attachment_id}")


# --- who reaches what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """The attachments of one case the asker reaches: every one (PPATBM: whoever may work on
    the case), or only the kinds R6 gives their partner through a referral (`kinds`)."""

    case_id: uuid.UUID
    reference: str
    kinds: frozenset[Kind] | None = None  # None: every kind, erased ones listed too


async def of_case(
    session: AsyncSession, *, case_id: uuid.UUID, by: Principal, keyring: Keyring
) -> Reach:
    """A case's attachments, if `by` may work on the case (need to know: cases.get_case's
    404 and 403; partner staff 403)."""
    case = await cases.get_case(session, case_id=case_id, by=by, keyring=keyring)
    return Reach(case.id, case.reference)


def kinds_for(service: str, status: str) -> frozenset[Kind]:
    """The kinds of document a partner receives through a referral for `service` in `status`."""
    if status not in LIVE:
        return frozenset()
    return frozenset(k for k, services in PARTNER_SERVICES.items() if service in services)


async def through_referral(
    session: AsyncSession, *, referral_id: uuid.UUID, by: Principal
) -> Reach:
    """The documents partner staff receive through one of their partner's referrals (R6), as
    intake's read model has the referral; anyone else's referral, or a referral of a partner
    referral deactivated (`referral.v1.event.partner_deactivated`), is not found."""
    referral = await session.get(ReferralView, referral_id)
    if (
        by.role != PersonRole.PARTNER_STAFF
        or referral is None
        or referral.partner_slug != by.partner_slug
        or await session.get(InactivePartner, referral.partner_slug) is not None
    ):
        raise ReferralNotFound()
    reference = await session.scalar(select(Case.reference).where(Case.id == referral.case_id))
    return Reach(referral.case_id, reference or "", kinds_for(referral.service, referral.status))


async def listed(session: AsyncSession, reach: Reach) -> list[CaseAttachment]:
    """The attachments `reach` gives, oldest first."""
    query = select(CaseAttachment).where(CaseAttachment.case_id == reach.case_id)
    if reach.kinds is not None:
        query = query.where(
            CaseAttachment.kind.in_([k.value for k in reach.kinds]),
            CaseAttachment.erased_at.is_(None),
        )
    rows = await session.scalars(query.order_by(CaseAttachment.created_at, CaseAttachment.id))
    return list(rows.all())


async def _one(session: AsyncSession, reach: Reach, attachment_id: uuid.UUID) -> CaseAttachment:
    row = await session.get(CaseAttachment, attachment_id)
    if (
        row is None
        or row.case_id != reach.case_id
        or (reach.kinds is not None and Kind(row.kind) not in reach.kinds)
    ):
        raise AttachmentNotFound()
    return row


async def download(
    session: AsyncSession,
    *,
    reach: Reach,
    attachment_id: uuid.UUID,
    keyring: Keyring,
    files: Files,
    trail: Trail,
) -> tuple[CaseAttachment, bytes]:
    """One attachment's bytes, recorded in the trail (committed before they are answered);
    CaseErased once its case was erased, not found if its file is gone."""
    row = await _one(session, reach, attachment_id)
    if row.erased_at is not None or row.storage_name is None:
        raise CaseErased()
    key = await keyring.get(session, row.case_id)
    if key is None:
        raise CaseErased()
    token = await asyncio.to_thread(files.read, row.storage_name)
    if token is None:
        log.warning("attachment file missing", extra={"attachment_id": str(row.id)})
        raise AttachmentNotFound()
    data = await asyncio.to_thread(crypto.unseal, key, token, associated=_aad(row.case_id, row.id))
    await trail.record(
        session,
        Action.ATTACHMENT_READ,
        case_reference=reach.reference,
        subject_id=row.id,
        commit=True,
    )
    return row, data


# --- changes by officers and the coordinator ------------------------------------------------------


@dataclass(frozen=True)
class Added:
    attachment: CaseAttachment
    case: Case


async def add(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    kind: str,
    data: bytes | None,
    by: Principal,
    keyring: Keyring,
    files: Files,
    trail: Trail,
    now: dt.datetime,
) -> Added:
    """Attach `data` to an open case `by` may work on, in the caller's transaction: the file
    written (sealed) before the row is added. If the transaction does not commit, the caller
    removes the file (`files.remove(added.attachment.storage_name)`)."""
    case = await cases.get_case(session, case_id=case_id, by=by, keyring=keyring)
    if case.erased_at is not None:
        raise CaseErased()
    if case.status != "open":
        raise CaseClosed()
    try:
        chosen = Kind(kind)
    except ValueError:
        raise BadKind() from None
    if not data:
        raise NoFile()
    content_type = sniff(data)
    if content_type is None:
        raise WrongType()
    key = await keyring.get(session, case.id)
    if key is None:
        raise CaseErased()
    name = secrets.token_urlsafe(32)
    row = CaseAttachment(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=chosen.value,
        content_type=content_type,
        size=len(data),
        storage_name=name,
        created_by=by.id,
        created_at=now,
    )

    def seal_and_write() -> None:
        files.write(name, crypto.seal(key, data, associated=_aad(case.id, row.id)))

    await asyncio.to_thread(seal_and_write)
    try:
        session.add(row)
        await trail.record(
            session, Action.ATTACHMENT_ADD, case_reference=case.reference, subject_id=row.id
        )
    except BaseException:
        files.remove(name)
        raise
    return Added(row, case)


async def delete(
    session: AsyncSession, *, reach: Reach, attachment_id: uuid.UUID, trail: Trail
) -> str | None:
    """Delete an attachment's row in the caller's transaction; returns its file's name, for
    the caller to remove once committed."""
    row = await _one(session, reach, attachment_id)
    name = row.storage_name
    await session.delete(row)
    await trail.record(
        session, Action.ATTACHMENT_DELETE, case_reference=reach.reference, subject_id=row.id
    )
    return name


async def move(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    into: uuid.UUID,
    keys: tuple[bytes, bytes],
    files: Files,
) -> None:
    """A merged duplicate's attachments now belong to the kept case (merges.py): each file
    sealed again with the kept case's key under a new name, the old file deleted once the
    merge commits (`keys`: the duplicate's, the kept case's)."""
    old, new = keys
    rows = await session.scalars(
        select(CaseAttachment).where(
            CaseAttachment.case_id == case_id, CaseAttachment.storage_name.is_not(None)
        )
    )
    replaced: list[str] = []
    for row in rows:
        stored = row.storage_name
        token = await asyncio.to_thread(files.read, stored) if stored is not None else None
        if stored is not None and token is not None:
            data = crypto.unseal(old, token, associated=_aad(case_id, row.id))
            sealed = crypto.seal(new, data, associated=_aad(into, row.id))
            name = secrets.token_urlsafe(32)
            await asyncio.to_thread(files.write, name, sealed)
            replaced.append(stored)
            row.storage_name = name
        row.case_id = into

    files.remove_on_commit(session, replaced)


# --- erasure ----------------------------------------------------------------------------------


async def erase(
    session: AsyncSession, *, case_id: uuid.UUID, files: Files, now: dt.datetime
) -> int:
    """The case's attachments erased in the caller's transaction (erasure.erase): each row
    marked, and each file deleted once that transaction commits (a rolled-back erasure keeps
    them; a file left by a crash is unreadable, its key gone). Returns how many."""
    rows = await session.scalars(
        select(CaseAttachment).where(
            CaseAttachment.case_id == case_id, CaseAttachment.erased_at.is_(None)
        )
    )
    found = list(rows.all())
    names = [row.storage_name for row in found if row.storage_name is not None]
    for row in found:
        row.storage_name = None
        row.erased_at = now
    files.remove_on_commit(session, names)
    return len(found)
