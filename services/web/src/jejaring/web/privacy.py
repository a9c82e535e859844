"""The data protection officer's pages and the coordinator's view of the audit trail: who read
or changed which case, when and from where (newest first, by case reference or by person, with
the chain's verdict at the top), and the erasure of a case's personal data from its reference,
confirmed before it is done. The trail and erasure are intake's; these pages only ask it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jejaring.web import messages
from jejaring.web.officer import NotAnOfficer, erased_because
from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    Web,
    WebDep,
    day_formatter,
    formatter,
    language,
    redirect,
    render,
)
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()
PER_PAGE = 25
# intake's erasure reasons (`ErasureReason`), in the order the form offers them
REASONS = ("subject_request", "consent_withdrawn", "no_longer_needed", "unlawful", "court_order")
# a case reference as intake makes them (PREFIX-YEAR-NUMBER): anything else is no case
REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")


def _require(signed: SignedIn, *roles: str) -> None:
    if signed.person.role not in roles:
        raise NotAnOfficer()


def _kelurahan_name(w: Web, code: str) -> str:
    found = w.region.kelurahan_by_code(code)
    return found.name if found else code


# --- the audit trail -----------------------------------------------------------------------------


@router.get("/audit")
async def trail(request: Request, w: WebDep, signed: Signed) -> Response:
    """The trail, newest first; `reference` and `person` (a user id) narrow it."""
    _require(signed, "dpo", "coordinator")
    lang = language(request, w)
    q = request.query_params
    reference = q.get("reference", "").strip().upper()
    person = q.get("person", "").strip()
    page = int(q["page"]) if q.get("page", "").isdigit() and 0 < int(q["page"]) < 10_000 else 1
    errors = Errors()
    t = messages.translator(lang)
    if reference and not REFERENCE.fullmatch(reference):
        errors.add("audit-reference", t("audit.reference.invalid"))
    if person:
        try:
            uuid.UUID(person)
        except ValueError:
            errors.add("", t("audit.person.invalid"))
    verdict = (await signed.call("intake", "GET", "/api/v1/audit/verify")).json()
    found: dict[str, Any] = {"items": [], "total": 0}
    if not errors:
        params: dict[str, Any] = {"page": page, "per_page": PER_PAGE, "newest_first": "true"}
        if reference:
            params["case_reference"] = reference
        if person:
            params["user_id"] = person
        answer = await signed.call("intake", "GET", "/api/v1/audit", params=params)
        if answer.status_code == 200:
            found = answer.json()
        else:
            for e in field_errors(answer):
                errors.add("audit-reference" if e.field == "case_reference" else "", e.text(lang))
    items: list[dict[str, Any]] = found["items"]
    person_name = next(
        (r["user_name"] for r in items if r["user_id"] == person and r.get("user_name")), person
    )
    query = {k: v for k, v in (("reference", reference), ("person", person)) if v}
    return render(
        request,
        w,
        "privacy/audit.html",
        errors=errors,
        signed=signed,
        verdict=verdict,
        items=items,
        total=found["total"],
        page=page,
        pages=max(1, -(-int(found["total"]) // PER_PAGE)),
        reference=reference,
        person_id=person,
        person_name=person_name,
        query=query,
        when=formatter(lang, w.zone),
        action=lambda code: t.get(f"audit.action.{code}", code),
        role=lambda code: t.get(f"admin.role.{code}", code),
    )


# --- erasure ---------------------------------------------------------------------------------------


def _erase_form(
    request: Request, w: Web, signed: SignedIn, *, errors: Errors | None = None, **typed: str
) -> Response:
    t = messages.translator(language(request, w))
    return render(
        request,
        w,
        "privacy/erase.html",
        errors=errors,
        signed=signed,
        here="/erase",
        reasons=[(r, t(f"erasure.reason.{r}")) for r in REASONS],
        typed=typed,
    )


@router.get("/erase")
async def erase_form(request: Request, w: WebDep, signed: Signed) -> Response:
    _require(signed, "dpo")
    return _erase_form(request, w, signed)


async def _lookup(signed: SignedIn, reference: str) -> dict[str, Any] | None:
    """Which case a reference names (intake's lookup: no personal data), or None."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/by-reference/{reference}")
    if answer.status_code != 200:
        return None
    found: dict[str, Any] = answer.json()
    return found


@router.post("/erase")
async def erase(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    """First the confirmation page, saying what goes and that it cannot be undone; confirmed,
    the erasure (intake's), then the page that says it is done."""
    _require(signed, "dpo")
    lang = language(request, w)
    t = messages.translator(lang)
    reference = form.get("reference").strip().upper()
    reason = form.get("reason")
    errors = Errors()
    if not reference:
        errors.add("reference", t("erasure.reference.missing"))
    elif not REFERENCE.fullmatch(reference):
        errors.add("reference", t("erasure.reference.not_found"))
    if reason not in REASONS:
        errors.add("reason", t("erasure.reason.missing"))
    found = None if errors else await _lookup(signed, reference)
    if not errors and found is None:
        errors.add("reference", t("erasure.reference.not_found"))
    if found is not None and found["erased_at"]:
        errors.add("reference", _erased_already(t, lang, w, found))
    if errors or found is None:
        return _erase_form(request, w, signed, errors=errors, reference=reference, reason=reason)
    if form.get("confirm") != "1":
        return render(
            request,
            w,
            "privacy/erase_confirm.html",
            signed=signed,
            here="/erase",
            found=found,
            reason=reason,
            reason_label=t(f"erasure.reason.{reason}"),
            kelurahan=_kelurahan_name(w, found["kelurahan_code"]),
            when=formatter(lang, w.zone),
        )
    answer = await signed.call(
        "intake", "POST", f"/api/v1/cases/{found['id']}/erase", json={"reason": reason}
    )
    if answer.status_code == 200:
        return redirect(f"/erase/done?reference={found['reference']}")
    if answer.status_code == 409:
        errors.add("reference", _erased_already(t, lang, w, await _lookup(signed, reference)))
    else:
        for e in field_errors(answer):
            errors.add("reason" if e.field == "reason" else "reference", e.text(lang))
    if not errors:
        errors.add("", t("erasure.refused"))
    return _erase_form(request, w, signed, errors=errors, reference=reference, reason=reason)


def _erased_already(t: messages.Translator, lang: Any, w: Web, found: dict[str, Any] | None) -> str:
    if not found or not found.get("erased_at"):
        return t("erasure.erased_already.plain")
    return t(
        "erasure.erased_already",
        reference=found["reference"],
        date=day_formatter(lang)(found["erased_at"][:10]),
        why=erased_because(t, found),
    )


@router.get("/erase/done")
async def erased(request: Request, w: WebDep, signed: Signed) -> Response:
    """What intake says now about the case just erased."""
    _require(signed, "dpo")
    reference = request.query_params.get("reference", "").strip().upper()
    found = await _lookup(signed, reference) if REFERENCE.fullmatch(reference) else None
    if found is None or not found["erased_at"]:
        return redirect("/erase")
    lang = language(request, w)
    return render(
        request,
        w,
        "privacy/erase_done.html",
        signed=signed,
        here="/erase",
        found=found,
        why=erased_because(messages.translator(lang), found),
        when=formatter(lang, w.zone),
    )
