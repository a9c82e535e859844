"""Possible duplicates and merging (issue 20): the warning a case page shows when its victim
matches another open case (intake's `GET /cases/{id}/duplicates`), and the coordinator's
merge, chosen on one page and confirmed on the next (`POST /cases/{id}/merge` at intake)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.web import messages
from jejaring.web.pages import Errors, Posted, Signed, Web, WebDep, language, redirect, render
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()
REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
OTHER = "other"  # the choice "another case, by its reference"


async def related(signed: SignedIn, case_id: str) -> dict[str, Any]:
    """The case's possible duplicates and merges as intake answers them ({} when it does not):
    ids and references only."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case_id}/duplicates")
    found = answer.json() if answer.status_code == 200 else {}
    return found if isinstance(found, dict) else {}


def _coordinator(signed: SignedIn) -> bool:
    return signed.person.role == "coordinator"


async def _mergeable(signed: SignedIn, case_id: str) -> dict[str, Any]:
    """The case to merge as intake's duplicates answer names it; 404 if the coordinator
    cannot see it."""
    found = await related(signed, case_id)
    if not found:
        raise HTTPException(404)
    return found


def _choose_page(
    request: Request,
    w: Web,
    signed: SignedIn,
    found: dict[str, Any],
    *,
    errors: Errors | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    t = messages.translator(language(request, w))
    options = [*_choices(found), (OTHER, t("merge.into.other"))]
    case = found["case"]
    return render(
        request,
        w,
        "duplicates/merge.html",
        errors=errors,
        signed=signed,
        here=f"/cases/{case['case_id']}/merge",
        case=case,
        options=options,
        typed=typed or {},
    )


@router.get("/cases/{case_id}/merge")
async def merge_form(case_id: str, request: Request, w: WebDep, signed: Signed) -> Response:
    if not _coordinator(signed):
        return redirect("/")
    found = await _mergeable(signed, case_id)
    if not found["mergeable"]:
        return redirect(f"/cases/{case_id}")
    return _choose_page(request, w, signed, found)


@router.post("/cases/{case_id}/merge")
async def merge(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """The choice, then the check page; confirmed, the merge (intake's), then the kept case.
    Whatever intake refuses comes back beside the choice."""
    if not _coordinator(signed):
        return redirect("/")
    lang = language(request, w)
    t = messages.translator(lang)
    found = await _mergeable(signed, case_id)
    choice = form.get("into")
    reference = form.get("reference").strip().upper()
    typed = {"into": choice, "reference": reference}
    errors = Errors()
    if not choice:
        errors.add("into", t("merge.into.missing"))
    elif choice == OTHER and not REFERENCE.fullmatch(reference):
        errors.add("reference", t("merge.reference.missing"))
    if errors:
        return _choose_page(request, w, signed, found, errors=errors, typed=typed)
    into = reference if choice == OTHER else choice
    if form.get("confirm") != "1":
        known = dict(_choices(found))
        return render(
            request,
            w,
            "duplicates/merge_confirm.html",
            signed=signed,
            here=f"/cases/{case_id}/merge",
            case=found["case"],
            into=into,
            into_reference=known.get(into, into),
            typed=typed,
        )
    answer = await signed.call(
        "intake", "POST", f"/api/v1/cases/{case_id}/merge", json={"into": into}
    )
    if answer.status_code == 200:
        return redirect(f"/cases/{answer.json()['into']['case_id']}")
    for e in field_errors(answer):
        errors.add("reference" if choice == OTHER and e.field == "into" else "into", e.text(lang))
    if not errors:
        errors.add("into", t("merge.refused"))
    return _choose_page(request, w, signed, found, errors=errors, typed=typed)


def _choices(found: dict[str, Any]) -> list[tuple[str, str]]:
    """The case's possible duplicates, (id, reference) each: the cases to merge it into."""
    return [(d["case_id"], d["reference"]) for d in found.get("possible_duplicates", [])]
