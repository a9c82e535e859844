"""The start page: an officer's is their kelurahan's cases, partner staff's their partner's
referrals, the coordinator's the board, the admin's the admin menu, the data protection
officer's the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import Response

from jejaring.web.officer import NotAnOfficer, Restricted
from jejaring.web.pages import Signed, redirect, render

router = APIRouter()

# Where each role starts.
START = {
    "officer": "/cases",
    "partner_staff": "/referrals",
    "coordinator": "/board",
    "admin": "/admin",
    "dpo": "/audit",
}


@router.get("/")
async def start(request: Request, signed: Signed) -> Response:
    if (to := START.get(signed.person.role)) is None:  # a role this app has no pages for
        raise HTTPException(404)
    return redirect(to)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAnOfficer)
    async def on_not_an_officer(request: Request, exc: NotAnOfficer) -> Response:
        return redirect("/")

    @app.exception_handler(Restricted)
    async def on_restricted(request: Request, exc: Restricted) -> Response:
        return render(request, request.app.state.web, "errors/restricted.html", status=403)
