"""The case plan's pages (issue 20): the plan on a case's page (add a task, mark it done or
cancel it), the officer's own open and overdue tasks above her case list, and the overdue work
of the whole kecamatan on the coordinator's board, by kelurahan and person. Intake owns the
tasks and decides what is overdue (WITA's date); these pages only ask it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.shared.contract.enums import Lang
from jejaring.web import messages, officer
from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    Web,
    WebDep,
    day_formatter,
    language,
    redirect,
)
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()
SAVED = ("added", "done", "cancelled")
# intake's field -> the input of the plan's form
_INPUTS = {
    "title": "task-title",
    "goal": "task-goal",
    "due_on": "task-due",
    "responsible_user_id": "task-responsible",
    "responsible_partner": "task-responsible",
}


def _checked(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(404) from None


async def case_plan(request: Request, signed: SignedIn, case: dict[str, Any]) -> dict[str, Any]:
    """What the case page's plan section shows: intake's plan of the case, whom a task can be
    given to (people intake names, partners with a referral of the case), and a saved note."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case['id']}/tasks")
    found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    people = [(f"user:{p['id']}", p["name"]) for p in found.get("responsible_choices") or []]
    slugs = dict.fromkeys(r["partner_slug"] for r in case.get("referrals") or [])
    saved = request.query_params.get("task", "")
    return {
        "shown": bool(found),
        "tasks": found.get("tasks") or [],
        "people": people,
        "partners": [(f"partner:{slug}", slug) for slug in slugs],
        "me": f"user:{signed.person.id}",
        "saved": saved if saved in SAVED else "",
    }


async def my_work(signed: SignedIn) -> list[dict[str, Any]]:
    """The signed-in person's own open tasks (intake's list: overdue first by due date)."""
    answer = await signed.call("intake", "GET", "/api/v1/tasks", params={"responsible": "me"})
    items = answer.json().get("items") if answer.status_code == 200 else None
    return items if isinstance(items, list) else []


async def overdue_by_kelurahan(signed: SignedIn, kelurahan: str, lang: Lang) -> dict[str, Any]:
    """The coordinator's board: overdue tasks across the kecamatan (or one kelurahan), by
    kelurahan, then by the person or partner responsible; no task text."""
    params = {"responsible": "all", "overdue": "true"}
    if kelurahan:
        params["kelurahan"] = kelurahan
    answer = await signed.call("intake", "GET", "/api/v1/tasks", params=params)
    items = answer.json().get("items") if answer.status_code == 200 else None
    found = items if isinstance(items, list) else []
    day = day_formatter(lang)
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for item in found:
        who = item["responsible"]
        line = {**item, "due": day(item["due_on"])}
        grouped[item["kelurahan"]["name"]][who.get("name") or who.get("partner") or "–"].append(
            line
        )
    groups = [(place, sorted(people.items())) for place, people in sorted(grouped.items())]
    return {"total": len(found), "groups": groups}


async def _again(
    request: Request, w: Web, signed: SignedIn, case_id: str, errors: Errors, typed: dict[str, Any]
) -> Response:
    """The case page again, the plan's form open with what was typed and the errors."""
    return await officer._case_page(
        request, w, signed, case_id, errors=errors, typed={"plan": True, **typed}
    )


@router.post("/cases/{case_id}/tasks")
async def add_task(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    officer.require_case_role(signed)
    case_id = _checked(case_id)
    t = messages.translator(language(request, w))
    typed = {k: form.get(k) for k in ("task-title", "task-goal", "task-due", "task-responsible")}
    errors = Errors()
    for name, key in (
        ("task-title", "plan.title.missing"),
        ("task-due", "plan.due.missing"),
        ("task-responsible", "plan.responsible.missing"),
    ):
        if not typed[name]:
            errors.add(name, t(key))
    kind, _, who = typed["task-responsible"].partition(":")
    if typed["task-responsible"] and (kind not in ("user", "partner") or not who):
        errors.add("task-responsible", t("plan.responsible.missing"))
    if errors:
        return await _again(request, w, signed, case_id, errors, typed)
    body: dict[str, Any] = {"title": typed["task-title"], "due_on": typed["task-due"]}
    if typed["task-goal"]:
        body["goal"] = typed["task-goal"]
    body["responsible_user_id" if kind == "user" else "responsible_partner"] = who
    answer = await signed.call("intake", "POST", f"/api/v1/cases/{case_id}/tasks", json=body)
    if answer.status_code == 201:
        return redirect(f"/cases/{case_id}?task=added#plan-heading")
    return await _refused(request, w, signed, case_id, answer, typed)


async def _refused(
    request: Request,
    w: Web,
    signed: SignedIn,
    case_id: str,
    answer: Any,
    typed: dict[str, Any],
) -> Response:
    lang = language(request, w)
    t = messages.translator(lang)
    errors = Errors()
    if answer.status_code == 404 and not field_errors(answer):
        raise HTTPException(404)
    if answer.status_code == 403 and any(e.code == "need_to_know" for e in field_errors(answer)):
        raise officer.Restricted()
    for e in field_errors(answer):
        errors.add(_INPUTS.get(e.field, ""), e.text(lang))
    if not errors:
        errors.add("", t("case.change_refused"))
    return await _again(request, w, signed, case_id, errors, typed)


async def _finish(
    request: Request, w: Web, signed: SignedIn, case_id: str, task_id: str, how: str
) -> Response:
    officer.require_case_role(signed)
    case_id, task_id = _checked(case_id), _checked(task_id)
    path = f"/api/v1/cases/{case_id}/tasks/{task_id}/{how}"
    answer = await signed.call("intake", "POST", path)
    if answer.status_code == 200:
        saved = "done" if how == "done" else "cancelled"
        return redirect(f"/cases/{case_id}?task={saved}#plan-heading")
    return await _refused(request, w, signed, case_id, answer, {})


@router.post("/cases/{case_id}/tasks/{task_id}/done")
async def task_done(
    case_id: str, task_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    return await _finish(request, w, signed, case_id, task_id, "done")


@router.post("/cases/{case_id}/tasks/{task_id}/cancel")
async def task_cancel(
    case_id: str, task_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    return await _finish(request, w, signed, case_id, task_id, "cancel")
