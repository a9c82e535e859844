"""Attachments in the pages: the upload, download and delete behind the case page's
"Lampiran" section, and the download of the documents partner staff receive on a referral's
page (R6); what those sections show is attachments_view.py's. Intake decides
everything (who may see which document, what a file may be, the size limit); the web app
passes uploads and downloads on with the person's token and keeps nothing.

The upload form is multipart, so it is read here with the shared bounded reader (not the
pages' 256 KB form reader), up to intake's own limit (`max_bytes` of its list): a file over it
is refused on the page, beside the field, without being passed on.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.shared.web.uploads import (
    UploadTooLarge,
    UploadUnreadable,
    discard,
    read_upload,
    size_text,
)
from jejaring.web import messages
from jejaring.web.forms import FormTooLarge
from jejaring.web.officer import _case_page, require_case_role
from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    StaleForm,
    WebDep,
    language,
    passed_on,
    redirect,
)
from jejaring.web.partner import require_partner_staff
from jejaring.web.security import same_csrf
from jejaring.web.upstream import field_errors

router = APIRouter()

# A refused upload's body is still read (and dropped) up to this much, so that the browser
# gets the page that says why instead of a reset connection; past it, the generic page.
DRAIN = 64 * 1024 * 1024
_INPUTS = {"kind": "attach-kind", "file": "attach-file"}


def _id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(404) from None


@router.post("/cases/{case_id}/attachments")
async def upload(case_id: str, request: Request, w: WebDep, signed: Signed) -> Response:
    """An officer's upload, passed on to intake as this person; its refusals beside the
    fields of the case page."""
    require_case_role(signed)
    case_id = _id(case_id)
    t = messages.translator(language(request, w))
    lang = language(request, w)
    listed = await signed.call("intake", "GET", f"/api/v1/cases/{case_id}/attachments")
    if listed.status_code != 200:
        raise HTTPException(404)
    limit = int(listed.json()["max_bytes"])
    chunks = request.stream()
    errors = Errors()
    kind = ""
    try:
        form = await read_upload(
            chunks,
            content_type=request.headers.get("content-type"),
            content_length=request.headers.get("content-length"),
            file_field="file",
            max_file=limit,
        )
    except UploadTooLarge as exc:
        if not await discard(chunks, up_to=DRAIN):
            raise FormTooLarge() from None
        kind = exc.fields.get("kind", "")
        errors.add("attach-file", t("attachments.too_large", limit=size_text(limit)))
    except UploadUnreadable:
        raise StaleForm() from None
    else:
        if not same_csrf(form.get("csrf"), signed.csrf_token):
            raise StaleForm()
        kind = form.get("kind")
        if not kind:
            errors.add("attach-kind", t("attachments.kind_missing"))
        if form.file is None:
            errors.add("attach-file", t("attachments.file_missing"))
        if not errors:
            sent = await signed.call(
                "intake",
                "POST",
                f"/api/v1/cases/{case_id}/attachments",
                data={"kind": kind},
                files={"file": ("berkas", form.file or b"", "application/octet-stream")},
            )
            if sent.status_code == 201:
                return redirect(f"/cases/{case_id}?attachment=added#lampiran")
            for e in field_errors(sent) if sent.status_code in (403, 409, 413, 422) else []:
                errors.add(_INPUTS.get(e.field, ""), e.text(lang))
            if not errors:
                errors.add("", t("attachments.refused"))
    return await _case_page(request, w, signed, case_id, errors=errors, typed={"attach-kind": kind})


@router.get("/cases/{case_id}/attachments/{attachment_id}")
async def download(case_id: str, attachment_id: str, signed: Signed) -> Response:
    require_case_role(signed)
    return await passed_on(
        signed, "intake", f"/api/v1/cases/{_id(case_id)}/attachments/{_id(attachment_id)}"
    )


@router.post("/cases/{case_id}/attachments/{attachment_id}/delete")
async def delete(
    case_id: str, attachment_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    require_case_role(signed)
    case_id = _id(case_id)
    path = f"/api/v1/cases/{case_id}/attachments/{_id(attachment_id)}"
    answer = await signed.call("intake", "DELETE", path)
    if answer.status_code == 204:
        return redirect(f"/cases/{case_id}?attachment=deleted#lampiran")
    t = messages.translator(language(request, w))
    errors = Errors()
    errors.add("", t("attachments.refused"))
    return await _case_page(request, w, signed, case_id, errors=errors)


@router.get("/referrals/{referral_id}/documents/{attachment_id}")
async def partner_download(referral_id: str, attachment_id: str, signed: Signed) -> Response:
    """A document R6 gives the person's partner, passed on from intake."""
    require_partner_staff(signed)
    return await passed_on(
        signed, "intake", f"/api/v1/referrals/{_id(referral_id)}/attachments/{_id(attachment_id)}"
    )
