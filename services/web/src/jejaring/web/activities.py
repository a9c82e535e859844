"""Case work on the case page (issue 20, items 1 and 2): the section "Kegiatan", a timeline of
the case's activities and a form to record one (intake's /api/v1/cases/{id}/activities).
Intake decides what is allowed (mediation, dates, a closed case); its reasons are shown
beside the field they name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.web import messages
from jejaring.web.pages import Errors, Posted, Signed, Web, WebDep, language, redirect
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()

KINDS = ("accompaniment", "home_visit", "phone_follow_up", "mediation_session", "partner_meeting")
PLACES = ("police", "puskesmas", "court", "shelter", "other")
OUTCOMES = ("agreement", "no_agreement", "referred")
SAVED = "saved"

# intake's field → the input of the form
_INPUTS = {
    "kind": "activity-kind",
    "place": "activity-place",
    "occurred_on": "activity-date",
    "note": "activity-note",
    "outcome": "activity-outcome",
    "follow_up_due": "activity-follow-up",
}


async def section(
    request: Request, w: Web, signed: SignedIn, case: dict[str, Any]
) -> dict[str, Any]:
    """What the section needs: the case's activities (newest first, from intake; None when
    intake does not show them), the choices of the form, today in WITA, and whether one was
    just saved."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case['id']}/activities")
    items = answer.json() if answer.status_code == 200 else None
    return {
        "timeline": items if isinstance(items, list) else None,
        "kinds": KINDS,
        "places": PLACES,
        "outcomes": OUTCOMES,
        "today": w.now_local().date().isoformat(),
        "saved": request.query_params.get("activity") == SAVED,
        "open": case["status"] == "open" and not case.get("erased_at"),
    }


def _body(form: dict[str, str]) -> dict[str, Any]:
    """The activity as intake takes it: a place for an accompaniment only, an outcome for a
    mediation session only, a follow-up date for an agreement only (the page shows every
    input when scripts are off, so what does not apply is dropped, not refused)."""
    body: dict[str, Any] = {
        "kind": form["activity-kind"],
        "occurred_on": form["activity-date"],
        "note": form["activity-note"],
    }
    if form["activity-kind"] == "accompaniment":
        body["place"] = form["activity-place"] or None
    if form["activity-kind"] == "mediation_session":
        body["outcome"] = form["activity-outcome"] or None
        if form["activity-outcome"] == "agreement":
            body["follow_up_due"] = form["activity-follow-up"] or None
    return body


@router.post("/cases/{case_id}/activities")
async def add_activity(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """Record an activity; back to the case page, with intake's reasons beside the fields."""
    from jejaring.web import officer  # the case page's module imports this one

    officer.require_case_role(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    typed = {name: form.get(name) for name in _INPUTS.values()}
    errors = Errors()
    for name, key in (
        ("activity-kind", "activity.kind.missing"),
        ("activity-date", "activity.date.missing"),
        ("activity-note", "activity.note.missing"),
    ):
        if not typed[name]:
            errors.add(name, t(key))
    if not errors:
        case = await officer._case(signed, case_id)
        answer = await signed.call(
            "intake", "POST", f"/api/v1/cases/{case['id']}/activities", json=_body(typed)
        )
        if answer.status_code == 201:
            return redirect(f"/cases/{case['id']}?activity={SAVED}#activities")
        if answer.status_code not in (403, 409, 422):
            raise HTTPException(404)
        for e in field_errors(answer):
            errors.add(_INPUTS.get(e.field, "") if answer.status_code == 422 else "", e.text(lang))
        if not errors:
            errors.add("", t("activity.refused"))
    return await officer._case_page(request, w, signed, case_id, errors=errors, typed=typed)
