"""The coordinator's board: what needs action now across the kecamatan, oldest first, as
intake answers it (`GET /api/v1/board`); each item opens its case page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jejaring.web import plan
from jejaring.web.feedback import partner_scores
from jejaring.web.officer import NotAnOfficer, labeller
from jejaring.web.pages import Signed, WebDep, formatter, language, render
from jejaring.web.partner import Countdown, countdown
from jejaring.web.sessions import SignedIn

router = APIRouter()
SECTIONS = ("late", "high_risk_unaccepted", "unmet", "eligibility_pending")


def require_coordinator(signed: SignedIn) -> None:
    if signed.person.role != "coordinator":
        raise NotAnOfficer()


@router.get("/board")
async def board(request: Request, w: WebDep, signed: Signed) -> Response:
    require_coordinator(signed)
    kelurahan = request.query_params.get("kelurahan", "")
    if w.region.kelurahan_by_code(kelurahan) is None:
        kelurahan = ""
    params = {"kelurahan": kelurahan} if kelurahan else None
    answer = await signed.call("intake", "GET", "/api/v1/board", params=params)
    found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    lang = language(request, w)
    now = w.clock()

    def left(referral: dict[str, Any]) -> Countdown:
        if referral.get("status") != "requested":
            return Countdown("", False)
        return countdown(referral.get("accept_by"), now, lang)

    return render(
        request,
        w,
        "coordinator/board.html",
        signed=signed,
        sections=[(name, found.get(name) or []) for name in SECTIONS],
        total=sum(len(found.get(name) or []) for name in SECTIONS),
        kelurahan=kelurahan,
        overdue_tasks=await plan.overdue_by_kelurahan(signed, kelurahan, lang),
        all_kelurahan=[(k.code, k.name) for k in w.region.kelurahan],
        label=labeller(lang),
        when=formatter(lang, w.zone),
        left=left,
        feedback_scores=await partner_scores(signed),
    )
