"""The case plan's HTTP API (issue 20): a case's tasks (`/cases/{id}/tasks`: add, list, done,
cancel) and the work lists (`/tasks`: one's own open tasks, or the coordinator's across the
kecamatan), the overdue flag reckoned on today's date in WITA."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, StringConstraints

from jejaring.intake import plan, rules, tasks
from jejaring.intake.api import Audit, Ctx, Who
from jejaring.intake.audit import Action
from jejaring.intake.models import Case, CaseTask
from jejaring.intake.schemas import In, KelurahanOut, Out
from jejaring.shared.db import read_only
from jejaring.shared.web.fields import OneLine
from jejaring.shared.web.identity import PersonRole

TaskText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]


class TaskIn(In):
    """A task of the case plan: what to do (`title`), towards what (`goal`), by when (a local
    date), and who answers for it: a person (an officer who may open the case, or the
    coordinator) or a partner (its slug), one of the two."""

    title: TaskText
    goal: TaskText | None = None
    due_on: dt.date
    responsible_user_id: uuid.UUID | None = None
    responsible_partner: Annotated[str, StringConstraints(max_length=40)] | None = None


class ResponsibleOut(Out):
    user_id: uuid.UUID | None = None
    name: str | None = Field(default=None, description="the person's name (not a partner's)")
    partner: str | None = Field(default=None, description="a partner's slug")


class TaskOut(Out):
    id: uuid.UUID
    case_id: uuid.UUID
    reference: str
    kind: str
    title: str | None = Field(default=None, description="None once the case was erased")
    goal: str | None = None
    due_on: dt.date
    status: Literal["open", "done", "cancelled"]
    overdue: bool
    responsible: ResponsibleOut
    done_at: dt.datetime | None = Field(default=None, description="when done or cancelled")
    created_at: dt.datetime
    created_by: uuid.UUID


class PersonChoice(Out):
    id: uuid.UUID
    name: str
    role: PersonRole


class PlanOut(Out):
    case_id: uuid.UUID
    reference: str
    today: dt.date
    erased: bool
    tasks: list[TaskOut]
    responsible_choices: list[PersonChoice] = Field(
        description="who may be made responsible for a new task (empty once closed or erased)"
    )


class WorkLine(Out):
    """An open task in a work list: the title only on the reader's own tasks."""

    id: uuid.UUID
    case_id: uuid.UUID
    reference: str
    kelurahan: KelurahanOut
    title: str | None = None
    due_on: dt.date
    overdue: bool
    responsible: ResponsibleOut


class WorkOut(Out):
    today: dt.date
    items: list[WorkLine]


router = APIRouter(prefix="/api/v1", tags=["case plan"])


def _responsible(task: CaseTask, names: dict[uuid.UUID, str]) -> ResponsibleOut:
    who = task.responsible_user_id
    return ResponsibleOut(
        user_id=who, name=names.get(who) if who else None, partner=task.responsible_partner
    )


def _task_out(
    ctx: plan.Zoned,
    case: Case,
    task: CaseTask,
    key: bytes | None,
    names: dict[uuid.UUID, str],
) -> TaskOut:
    text = tasks.text_of(task, key)
    return TaskOut(
        id=task.id,
        case_id=case.id,
        reference=case.reference,
        kind=task.kind,
        title=text.title if text else None,
        goal=text.goal if text else None,
        due_on=task.due_on,
        status=task.status,
        overdue=plan.is_overdue(task, ctx.today),
        responsible=_responsible(task, names),
        done_at=task.done_at.astimezone(ctx.zone) if task.done_at else None,
        created_at=task.created_at.astimezone(ctx.zone),
        created_by=task.created_by,
    )


def _zoned(ctx: Ctx) -> plan.Zoned:
    zone = rules.local_zone(ctx.region)
    return plan.Zoned(zone=zone, today=plan.today(ctx.clock(), zone))


@router.post("/cases/{case_id}/tasks", status_code=201, response_model=TaskOut)
async def add_task(
    case_id: uuid.UUID, body: TaskIn, who: Who, ctx: Ctx, trail: Audit, response: Response
) -> TaskOut:
    """Add a task to a case's plan (whoever may change the case; 409 once closed or erased).
    The due date is a local date, not before the report and at most two years ahead."""
    zoned = _zoned(ctx)
    async with ctx.sessions() as session, session.begin():
        case, task = await plan.create(
            session,
            case_id=case_id,
            **body.model_dump(),
            by=who,
            keyring=ctx.keyring,
            zone=zoned.zone,
            now=ctx.clock(),
        )
        await trail.record(session, Action.TASK_CREATE, case_reference=case.reference)
        names = await plan.names_of(session, [task])
        out = _task_out(zoned, case, task, await ctx.keyring.get(session, case.id), names)
    response.headers["Location"] = f"/api/v1/cases/{case.id}/tasks"
    return out


async def _finish(
    case_id: uuid.UUID, task_id: uuid.UUID, status: str, who: Who, ctx: Ctx, trail: Audit
) -> TaskOut:
    zoned = _zoned(ctx)
    action = Action.TASK_DONE if status == tasks.DONE else Action.TASK_CANCEL
    async with ctx.sessions() as session, session.begin():
        case, task, key = await plan.finish(
            session,
            case_id=case_id,
            task_id=task_id,
            status=status,
            by=who,
            keyring=ctx.keyring,
            now=ctx.clock(),
        )
        await trail.record(session, action, case_reference=case.reference)
        names = await plan.names_of(session, [task])
        return _task_out(zoned, case, task, key, names)


@router.post("/cases/{case_id}/tasks/{task_id}/done", response_model=TaskOut)
async def task_done(
    case_id: uuid.UUID, task_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> TaskOut:
    """Mark an open task done (409 if it is not open any more)."""
    return await _finish(case_id, task_id, tasks.DONE, who, ctx, trail)


@router.post("/cases/{case_id}/tasks/{task_id}/cancel", response_model=TaskOut)
async def task_cancel(
    case_id: uuid.UUID, task_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit
) -> TaskOut:
    """Cancel an open task (409 if it is not open any more)."""
    return await _finish(case_id, task_id, tasks.CANCELLED, who, ctx, trail)


@router.get("/cases/{case_id}/tasks", response_model=PlanOut)
async def case_plan(case_id: uuid.UUID, who: Who, ctx: Ctx, trail: Audit) -> PlanOut:
    """A case's plan, by due date (whoever may open the case; a `task.read` in the audit
    trail). Once the case is erased its tasks show without title or goal."""
    zoned = _zoned(ctx)
    async with ctx.sessions() as session:
        case, found, key = await plan.plan_of(session, case_id=case_id, by=who, keyring=ctx.keyring)
        live = case.status == "open" and case.erased_at is None
        choices = await plan.responsible_choices(session, case=case) if live else []
        names = await plan.names_of(session, found)
        out = PlanOut(
            case_id=case.id,
            reference=case.reference,
            today=zoned.today,
            erased=case.erased_at is not None,
            tasks=[_task_out(zoned, case, t, key, names) for t in found],
            responsible_choices=[
                PersonChoice(id=u.id, name=u.name, role=PersonRole(u.role)) for u in choices
            ],
        )
        await trail.record(session, Action.TASK_READ, case_reference=case.reference, commit=True)
        return out


@router.get("/tasks", response_model=WorkOut)
async def work_list(
    who: Who,
    ctx: Ctx,
    trail: Audit,
    responsible: Literal["me", "all"] = "me",
    overdue: bool = False,
    kelurahan: Annotated[str | None, Query(max_length=20)] = None,
) -> WorkOut:
    """Open tasks of open cases, by due date: `responsible=me` the asker's own (an officer or
    the coordinator), with their titles; `responsible=all` the whole kecamatan's (the
    coordinator only; `kelurahan` narrows it), titles only of the asker's own. `overdue=true`:
    only those due before today (WITA). Each case whose titles are shown is a `task.read` in
    the audit trail; the list itself a `task.list`."""
    zoned = _zoned(ctx)
    async with ctx.sessions() as session:
        await read_only(session)
        found = await plan.work(
            session,
            by=who,
            everyone=responsible == "all",
            overdue_only=overdue,
            kelurahan_code=kelurahan,
            today_=zoned.today,
        )
        names = await plan.names_of(session, [t for t, _ in found])
        keys = {
            case.id: await ctx.keyring.get(session, case.id)
            for task, case in found
            if task.responsible_user_id == who.id
        }
    items = []
    for task, case in found:
        text = tasks.text_of(task, keys[case.id]) if case.id in keys else None
        k = ctx.region.kelurahan_by_code(case.kelurahan_code)
        items.append(
            WorkLine(
                id=task.id,
                case_id=case.id,
                reference=case.reference,
                kelurahan=KelurahanOut(
                    code=case.kelurahan_code, name=k.name if k else case.kelurahan_code
                ),
                title=text.title if text else None,
                due_on=task.due_on,
                overdue=plan.is_overdue(task, zoned.today),
                responsible=_responsible(task, names),
            )
        )
    read = {case.reference for task, case in found if case.id in keys}
    async with ctx.sessions() as session:
        for reference in sorted(read):
            await trail.record(session, Action.TASK_READ, case_reference=reference)
        await trail.record(session, Action.TASK_LIST, commit=True)
    return WorkOut(today=zoned.today, items=items)
