"""The start page: an officer's is their kelurahan's cases; the other roles' pages come in a
later round, and their start page says so plainly."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from jejaring.web.officer import NotAnOfficer
from jejaring.web.pages import Signed, WebDep, redirect, render

router = APIRouter()

# What each role will get, as catalogue keys; nothing here pretends to exist yet.
COMING = {
    "coordinator": ["coming.coordinator.board", "coming.coordinator.escalations"],
    "partner_staff": ["coming.partner.inbox", "coming.partner.answers"],
}


@router.get("/")
async def start(request: Request, w: WebDep, signed: Signed) -> Response:
    if signed.person.role == "officer":
        return redirect("/cases")
    if signed.person.role == "admin":
        return redirect("/admin")
    return render(
        request,
        w,
        "home/coming.html",
        signed=signed,
        here="/",
        coming=COMING.get(signed.person.role, []),
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAnOfficer)
    async def on_not_an_officer(request: Request, exc: NotAnOfficer) -> Response:
        return redirect("/")
