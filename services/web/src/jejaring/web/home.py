"""The start page: an officer's is their kelurahan's cases, partner staff's their partner's
referrals, the coordinator's the board, the admin's the admin menu."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from jejaring.web.officer import NotAnOfficer
from jejaring.web.pages import Signed, redirect, render

router = APIRouter()

# Where each role starts.
START = {
    "officer": "/cases",
    "partner_staff": "/referrals",
    "coordinator": "/board",
    "admin": "/admin",
}


@router.get("/")
async def start(request: Request, signed: Signed) -> Response:
    if (to := START.get(signed.person.role)) is None:  # the data protection officer, for now
        return render(request, request.app.state.web, "errors/no_pages.html", here="/")
    return redirect(to)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAnOfficer)
    async def on_not_an_officer(request: Request, exc: NotAnOfficer) -> Response:
        return redirect("/")
