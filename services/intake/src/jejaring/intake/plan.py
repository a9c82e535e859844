"""The case plan (issue 20): tasks with a goal, a due date (a local date, WITA) and who answers
for them (an officer who may open the case, the coordinator, or a partner); lists of open and
overdue work for an officer and for the coordinator; and the reminder job that tells the
responsible person the day before a task falls due (`case.v1.task.due`, sent once).

A task is overdue when it is open and its due date is before today (WITA). Tasks of a closed or
erased case are no one's work any more: they leave the lists and get no reminder.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.intake import cases, tasks, users
from jejaring.intake.assignments import restricted
from jejaring.intake.auth import Principal, require_role
from jejaring.intake.case_events import officer_contact
from jejaring.intake.keyring import Keyring
from jejaring.intake.models import Case, CaseTask, User
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.subjects import SLUG_RE
from jejaring.shared.logs import bind_case
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.refusals import Conflict, FieldError, Invalid, NotFound
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)

TASK = "task"  # a task written into the plan (the other kind: "follow_up_visit")
FURTHEST_DUE = dt.timedelta(days=731)  # two years ahead
REMINDER_BATCH = 100
# A reminder is never urgent: one staged at night (the job finds tomorrow's tasks from 00:00
# WITA) waits in notify for the working day, as alerts to contacts with quiet hours do.
REMINDER_QUIET_HOURS = ev.QuietHours(start="21:00", end="07:00")
# A reminder's event id follows from its task: sent twice, JetStream and notify keep one.
_REMINDER_IDS = uuid.UUID("4a0f6f0e-6c55-4b0e-9f0a-7a3c1d2b9e11")


@dataclass(frozen=True)
class Zoned:
    """The region's zone and today's date in it, for one request."""

    zone: dt.tzinfo
    today: dt.date


def today(now: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The local date (WITA) at `now`: what "today", "overdue" and "tomorrow" count from."""
    return now.astimezone(zone).date()


def is_overdue(task: CaseTask, today_: dt.date) -> bool:
    return task.status == tasks.OPEN and task.due_on < today_


# --- refusals ------------------------------------------------------------------------------


class TaskNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(
            FieldError("task_id", "not_found", "Tugas tidak ditemukan.", "Task not found.")
        )


class TaskNotOpen(Conflict):
    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "status",
                "task_not_open",
                "Tugas ini sudah selesai atau dibatalkan.",
                "This task is already done or cancelled.",
            )
        )


def _one_responsible() -> FieldError:
    return FieldError(
        "responsible_user_id",
        "one_responsible",
        "Pilih satu penanggung jawab: seorang petugas atau koordinator, atau satu mitra.",
        "Choose one person responsible: an officer or the coordinator, or one partner.",
    )


def _not_responsible_here() -> FieldError:
    return FieldError(
        "responsible_user_id",
        "not_responsible_here",
        "Penanggung jawab harus koordinator atau petugas aktif kelurahan kasus ini yang boleh "
        "membukanya (pencatat atau yang ditugaskan). Minta koordinator menugaskannya dulu.",
        "The person responsible must be the coordinator or an active officer of the case's "
        "kelurahan who may open it (its recorder, or assigned to it). Ask the coordinator to "
        "assign them first.",
    )


def _bad_partner() -> FieldError:
    return FieldError(
        "responsible_partner",
        "partner_slug_format",
        "Mitra ditulis dengan slug-nya: 2-39 huruf kecil, angka atau '-' (mis. posbakum-aisyiyah).",
        "A partner is named by its slug: 2-39 lowercase letters, digits or '-' (e.g. "
        "posbakum-aisyiyah).",
    )


def _due_before_report() -> FieldError:
    return FieldError(
        "due_on",
        "due_before_report",
        "Tanggal jatuh tempo tidak boleh sebelum kasus dilaporkan.",
        "The due date cannot be before the case was reported.",
    )


def _due_too_far() -> FieldError:
    return FieldError(
        "due_on",
        "due_too_far",
        "Tanggal jatuh tempo paling lambat dua tahun dari hari ini.",
        "The due date can be at most two years from today.",
    )


# --- the plan of one case -----------------------------------------------------------------


async def _check_responsible(
    session: AsyncSession, case: Case, user_id: uuid.UUID | None, partner: str | None
) -> None:
    if (user_id is None) == (partner is None):
        raise Invalid(_one_responsible())
    if partner is not None:
        if not (users.PARTNER_SLUG.fullmatch(partner) and SLUG_RE.fullmatch(partner)):
            raise Invalid(_bad_partner())
        return
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise Invalid(_not_responsible_here())
    role = PersonRole(user.role)
    if role == PersonRole.COORDINATOR:
        return
    them = Principal(id=user.id, name=user.name, role=role, kelurahan_code=user.kelurahan_code)
    if role != PersonRole.OFFICER or not them.sees(case.kelurahan_code):
        raise Invalid(_not_responsible_here())
    if await restricted(session, [case], by=them):
        raise Invalid(_not_responsible_here())


async def create(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    title: str,
    goal: str | None,
    due_on: dt.date,
    responsible_user_id: uuid.UUID | None,
    responsible_partner: str | None,
    by: Principal,
    keyring: Keyring,
    zone: dt.tzinfo,
    now: dt.datetime,
) -> tuple[Case, CaseTask]:
    """Add a task to the plan of a case `by` may change (as for a case change: 404/403, 409
    once closed or erased), its due date not before the report nor over two years ahead."""
    case, key = await cases.open_case(session, case_id=case_id, by=by, keyring=keyring)
    errors = []
    if due_on < case.reported_at.astimezone(zone).date():
        errors.append(_due_before_report())
    elif due_on > today(now, zone) + FURTHEST_DUE:
        errors.append(_due_too_far())
    if errors:
        raise Invalid(*errors)
    await _check_responsible(session, case, responsible_user_id, responsible_partner)
    task = await tasks.add_task(
        session,
        case=case,
        kind=TASK,
        title=title,
        goal=goal,
        due_on=due_on,
        responsible_user_id=responsible_user_id,
        responsible_partner=responsible_partner,
        created_by=by.id,
        key=key,
        now=now,
    )
    log.info("case plan task added", extra={"task": str(task.id)})
    return case, task


async def finish(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    status: str,
    by: Principal,
    keyring: Keyring,
    now: dt.datetime,
) -> tuple[Case, CaseTask, bytes]:
    """Mark an open task done or cancelled (`status`), under the same rule as a case change;
    409 if it is not open any more."""
    case, key = await cases.open_case(session, case_id=case_id, by=by, keyring=keyring)
    task = await session.get(CaseTask, task_id, with_for_update=True)
    if task is None or task.case_id != case.id:
        raise TaskNotFound()
    if task.status != tasks.OPEN:
        raise TaskNotOpen()
    task.status = status
    task.done_at = now  # when it was done, or cancelled (the status says which)
    await session.flush()
    log.info("case plan task closed", extra={"task": str(task.id), "status": status})
    return case, task, key


async def plan_of(
    session: AsyncSession, *, case_id: uuid.UUID, by: Principal, keyring: Keyring
) -> tuple[Case, list[CaseTask], bytes | None]:
    """A case's tasks (if `by` may open the case), by due date, with its data key (None once
    erased: the tasks then read without text)."""
    case = await cases.get_case(session, case_id=case_id, by=by, keyring=keyring)
    found = await session.scalars(
        select(CaseTask)
        .where(CaseTask.case_id == case.id)
        .order_by(CaseTask.due_on, CaseTask.created_at)
    )
    return case, list(found.all()), await keyring.get(session, case.id)


async def responsible_choices(session: AsyncSession, *, case: Case) -> list[User]:
    """Who may be made responsible for a task of `case`: its kelurahan's active officers who
    may open it, and the coordinator(s)."""
    officers = await users.officers_of(session, kelurahan_code=case.kelurahan_code)
    choices = []
    for user in officers:
        them = Principal(id=user.id, name=user.name, role=PersonRole.OFFICER)
        if not await restricted(session, [case], by=them):
            choices.append(user)
    coordinators = await session.scalars(
        select(User)
        .where(User.role == PersonRole.COORDINATOR, User.active.is_(True))
        .order_by(User.name)
    )
    return choices + list(coordinators.all())


async def names_of(session: AsyncSession, found: Iterable[CaseTask]) -> dict[uuid.UUID, str]:
    """The names of the people responsible for `found`."""
    ids = {t.responsible_user_id for t in found if t.responsible_user_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {row.id: row.name for row in rows}


# --- work lists -----------------------------------------------------------------------------


def _live_work() -> Select[tuple[CaseTask, Case]]:
    """Open tasks of open, not erased cases (no one's work any more after close or erasure)."""
    return (
        select(CaseTask, Case)
        .join(Case, Case.id == CaseTask.case_id)
        .where(CaseTask.status == tasks.OPEN, Case.status == "open", Case.erased_at.is_(None))
    )


async def work(
    session: AsyncSession,
    *,
    by: Principal,
    everyone: bool,
    overdue_only: bool,
    kelurahan_code: str | None,
    today_: dt.date,
) -> list[tuple[CaseTask, Case]]:
    """Open tasks, by due date: `by`'s own, or (`everyone`, the coordinator only) those of the
    whole kecamatan, or of one kelurahan; `overdue_only`: due before `today_`."""
    query = _live_work()
    if everyone:
        require_role(by, PersonRole.COORDINATOR)
        if kelurahan_code:
            query = query.where(Case.kelurahan_code == kelurahan_code)
    else:
        require_role(by, PersonRole.OFFICER, PersonRole.COORDINATOR)
        query = query.where(CaseTask.responsible_user_id == by.id)
    if overdue_only:
        query = query.where(CaseTask.due_on < today_)
    rows = await session.execute(
        query.order_by(CaseTask.due_on, Case.reference, CaseTask.created_at)
    )
    return [(task, case) for task, case in rows.tuples()]


# --- the reminder ---------------------------------------------------------------------------


def reminder_id(task_id: uuid.UUID) -> str:
    return str(uuid.uuid5(_REMINDER_IDS, str(task_id)))


async def remind(
    sessions: async_sessionmaker[AsyncSession],
    *,
    outbox: Outbox,
    clock: Callable[[], dt.datetime],
    zone: dt.tzinfo,
) -> int:
    """Stage `case.v1.task.due` for every open task due tomorrow (WITA) with a person
    responsible who was not reminded yet, batch by batch: each task's `reminded_at` and its
    event commit in one transaction, and a task is taken only while `reminded_at` is still
    NULL (a conditional UPDATE), so two replicas or a rerun after a crash send it once.
    Returns how many were staged."""
    now = clock()
    tomorrow = today(now, zone) + dt.timedelta(days=1)
    due = (
        _live_work()
        .add_columns(User)
        .join(User, User.id == CaseTask.responsible_user_id)
        .where(CaseTask.due_on == tomorrow, CaseTask.reminded_at.is_(None), User.active.is_(True))
        .order_by(CaseTask.id)
        .limit(REMINDER_BATCH)
    )
    staged = 0
    while True:
        async with sessions() as session, session.begin():
            locked = due.with_for_update(skip_locked=True, of=CaseTask)
            rows = (await session.execute(locked)).tuples().all()
            for task, case, user in rows:
                taken = await session.execute(
                    update(CaseTask)
                    .where(CaseTask.id == task.id, CaseTask.reminded_at.is_(None))
                    .values(reminded_at=now)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another replica took it in the meantime
                bind_case(case.reference)
                event = ev.CaseTaskDue(
                    case_id=case.id,
                    reference=case.reference,
                    kelurahan_code=case.kelurahan_code,
                    task_id=task.id,
                    due_on=task.due_on,
                    officer=officer_contact(user).model_copy(
                        update={"quiet_hours": REMINDER_QUIET_HOURS}
                    ),
                )
                await outbox.add(session, event, event_id=reminder_id(task.id), time=now)
                staged += 1
        if len(rows) < REMINDER_BATCH:
            break
    if staged:
        log.info("case plan reminders staged", extra={"count": staged})
    return staged
