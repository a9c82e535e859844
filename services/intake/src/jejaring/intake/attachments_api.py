"""Attachments in intake's API (attachments.py says what is kept and who receives what).

Officers who may work on a case and the coordinator: `POST /cases/{id}/attachments`
(multipart: `kind`, `file`), list, download, delete. Partner staff: the documents of one of
their partner's referrals R6 gives them, `GET /referrals/{id}/attachments[/{attachment_id}]`.
A download answers the bytes with `Cache-Control: no-store` and is recorded in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.intake import attachments, audit, rules
from jejaring.intake.api import Audit, Context, Ctx, Who
from jejaring.intake.attachments import CONTENT_TYPES, Files, Kind
from jejaring.intake.auth import Principal
from jejaring.intake.models import CaseAttachment
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.refusals import FieldError, Invalid
from jejaring.shared.web.errors import ApiError, Larger
from jejaring.shared.web.uploads import (
    OVERHEAD,
    UploadTooLarge,
    UploadUnreadable,
    read_upload,
    size_text,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["attachments"])

UPLOAD_PATH = re.compile(r"/api/v1/cases/[^/]+/attachments")


def too_large(limit: int) -> FieldError:
    """The refusal of a file over `limit` bytes, by the route or by the body limit before it."""
    size = size_text(limit)
    return FieldError(
        "file",
        "file_too_large",
        f"Berkas terlalu besar: paling besar {size}.",
        f"The file is too large: at most {size}.",
    )


def larger_bodies(settings: IntakeSettings) -> list[Larger]:
    """The upload route takes the attachment limit (and a form's overhead), not 256 KB."""
    limit = settings.attachment_max_bytes
    return [Larger(UPLOAD_PATH, limit + OVERHEAD, too_large(limit))]


class AttachmentOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    content_type: str
    size: int
    created_by: uuid.UUID
    created_at: dt.datetime
    erased_at: dt.datetime | None = None


class AttachmentList(BaseModel):
    """A case's (or a referral's) attachments, and what an upload may be."""

    items: list[AttachmentOut]
    max_bytes: int
    kinds: list[Kind]  # the kinds an upload may have (none for partner staff)
    content_types: list[str]


def _files(ctx: Context) -> Files:
    return Files(ctx.settings.attachments_path)


def _out(ctx: Context, row: CaseAttachment) -> AttachmentOut:
    zone = rules.local_zone(ctx.region)
    return AttachmentOut(
        id=row.id,
        kind=Kind(row.kind),
        content_type=row.content_type,
        size=row.size,
        created_by=row.created_by,
        created_at=row.created_at.astimezone(zone),
        erased_at=row.erased_at.astimezone(zone) if row.erased_at else None,
    )


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentOut)
async def attach(
    case_id: uuid.UUID, request: Request, who: Who, ctx: Ctx, trail: Audit
) -> AttachmentOut:
    """Attach a photo or document to an open case (multipart/form-data: `kind`, `file`).
    The type is read from the content (JPEG, PNG, WebP or PDF); 413 over
    INTAKE_ATTACHMENT_MAX_BYTES, 422 naming `kind` or `file` otherwise."""
    limit = ctx.settings.attachment_max_bytes
    try:
        upload = await read_upload(
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=request.headers.get("content-length"),
            file_field="file",
            max_file=limit,
        )
    except UploadTooLarge:
        raise ApiError(413, [too_large(limit)]) from None
    except UploadUnreadable:
        raise Invalid(
            FieldError(
                "file",
                "not_multipart",
                "Kirim berkas sebagai multipart/form-data dengan bagian 'kind' dan 'file'.",
                "Send the file as multipart/form-data with the parts 'kind' and 'file'.",
            )
        ) from None
    files = _files(ctx)
    async with ctx.sessions() as session:
        added: attachments.Added | None = None
        try:
            async with session.begin():
                added = await attachments.add(
                    session,
                    case_id=case_id,
                    kind=upload.get("kind"),
                    data=upload.file,
                    by=who,
                    keyring=ctx.keyring,
                    files=files,
                    trail=trail,
                    now=ctx.clock(),
                )
        except BaseException:
            if added is not None and added.attachment.storage_name:
                files.remove(added.attachment.storage_name)
            raise
    log.info("attachment added", extra={"attachment_id": str(added.attachment.id)})
    return _out(ctx, added.attachment)


async def _reach(
    session: AsyncSession,
    ctx: Context,
    who: Principal,
    *,
    case_id: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
) -> attachments.Reach:
    if referral_id is not None:
        return await attachments.through_referral(session, referral_id=referral_id, by=who)
    assert case_id is not None
    return await attachments.of_case(session, case_id=case_id, by=who, keyring=ctx.keyring)


async def _list(ctx: Context, who: Principal, **where: uuid.UUID) -> AttachmentList:
    async with ctx.sessions() as session:
        reach = await _reach(session, ctx, who, **where)
        rows = await attachments.listed(session, reach)
    return AttachmentList(
        items=[_out(ctx, r) for r in rows],
        max_bytes=ctx.settings.attachment_max_bytes,
        kinds=list(Kind) if reach.kinds is None else [],
        content_types=list(CONTENT_TYPES),
    )


async def _download(
    ctx: Context, who: Principal, trail: audit.Trail, attachment_id: uuid.UUID, **where: uuid.UUID
) -> Response:
    """The bytes as a download: never cached, never shown inline, never sniffed."""
    async with ctx.sessions() as session:
        reach = await _reach(session, ctx, who, **where)
        row, data = await attachments.download(
            session,
            reach=reach,
            attachment_id=attachment_id,
            keyring=ctx.keyring,
            files=_files(ctx),
            trail=trail,
        )
    name = f"{row.kind}-{row.id.hex[:8]}{CONTENT_TYPES.get(row.content_type, '')}"
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/cases/{case_id}/attachments", response_model=AttachmentList)
async def list_attachments(case_id: uuid.UUID, who: Who, ctx: Ctx) -> AttachmentList:
    """A case's attachments (kind, type, size, when; no content), for whoever may work on
    it, with the limits an upload must meet."""
    return await _list(ctx, who, case_id=case_id)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
async def download(
    case_id: uuid.UUID, attachment_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> Response:
    """One attachment's bytes (recorded in the audit trail); 409 once its case was erased."""
    return await _download(ctx, who, trail, attachment_id, case_id=case_id)


@router.delete("/cases/{case_id}/attachments/{attachment_id}", status_code=204)
async def remove(
    case_id: uuid.UUID, attachment_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> Response:
    """Delete an attachment and its file (recorded in the audit trail)."""
    async with ctx.sessions() as session, session.begin():
        reach = await _reach(session, ctx, who, case_id=case_id)
        name = await attachments.delete(
            session, reach=reach, attachment_id=attachment_id, trail=trail
        )
    if name:
        _files(ctx).remove(name)
    return Response(status_code=204)


@router.get("/referrals/{referral_id}/attachments", response_model=AttachmentList)
async def referral_attachments(referral_id: uuid.UUID, who: Who, ctx: Ctx) -> AttachmentList:
    """The documents the asker's partner receives through this referral (partner staff;
    R6: SKTM and Kartu PKH for legal aid, the police report for law enforcement), while the
    referral is live."""
    return await _list(ctx, who, referral_id=referral_id)


@router.get("/referrals/{referral_id}/attachments/{attachment_id}")
async def referral_download(
    referral_id: uuid.UUID, attachment_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> Response:
    """One document R6 gives the asker's partner through this referral (recorded in the
    audit trail); any other is not found."""
    return await _download(ctx, who, trail, attachment_id, referral_id=referral_id)
