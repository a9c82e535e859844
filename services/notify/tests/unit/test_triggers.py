"""The trigger table: for each event type, who is told, with which template, and how urgently."""

from __future__ import annotations

import pytest

from jejaring.notify import triggers
from jejaring.notify.models import RecipientRole
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus
from jejaring.testing import sample_events

P1 = ev.Contact(name="Piket PPA", phone="+62 811 0000 101")
P2 = ev.Contact(name="Posbakum", email="posbakum@example.org")
OFFICER = ev.Contact(name="Ibu Wulan", phone="+62 813 0000 001")
BOSS = ev.Contact(name="Kasi Kesos", phone="+62 811 9999 999")

PARTNER, OFFICER_ROLE, COORDINATOR = (
    RecipientRole.PARTNER,
    RecipientRole.OFFICER,
    RecipientRole.COORDINATOR,
)


def _event(kind: type[ev.Event], **update: object) -> ev.Event:
    event = next(e for e in sample_events() if type(e) is kind)
    if isinstance(event, ev.ReferralStatusChanged | ev.ReferralOverdue | ev.ReferralEscalated):
        update = {"partner_contacts": (P1, P2), "officer": OFFICER, **update}
    return event.model_copy(update=update)


def _told(alert: triggers.Alert | None) -> list[tuple[str, str]]:
    assert alert is not None
    return [(r.role, r.contact.name) for r in alert.recipients]


def test_the_roles_are_what_the_delivery_log_stores() -> None:
    assert [str(r) for r in RecipientRole] == ["partner", "officer", "coordinator", "survivor"]


@pytest.mark.parametrize(
    ("status", "template", "told"),
    [
        (ReferralStatus.REQUESTED, "referral_requested", [(PARTNER, P1.name), (PARTNER, P2.name)]),
        (ReferralStatus.ACCEPTED, "referral_accepted", [(OFFICER_ROLE, OFFICER.name)]),
        (ReferralStatus.REJECTED, "referral_rejected", [(OFFICER_ROLE, OFFICER.name)]),
        (ReferralStatus.CANCELLED, "referral_cancelled", [(PARTNER, P1.name), (PARTNER, P2.name)]),
    ],
)
def test_a_status_change_tells_the_partner_or_the_officer(
    status: ReferralStatus, template: str, told: list[tuple[str, str]]
) -> None:
    alert = triggers.alert_for(_event(ev.ReferralStatusChanged, status=status), coordinator=BOSS)
    assert alert is not None
    assert alert.template == template
    assert _told(alert) == told
    assert all(isinstance(r.role, RecipientRole) for r in alert.recipients)


@pytest.mark.parametrize(
    "status",
    [
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.ON_HOLD,
        ReferralStatus.COMPLETED,
        ReferralStatus.FAILED,
    ],
)
def test_other_status_changes_tell_no_one(status: ReferralStatus) -> None:
    event = _event(ev.ReferralStatusChanged, status=status)
    assert triggers.alert_for(event, coordinator=BOSS) is None


def test_an_acceptance_with_no_officer_on_record_tells_no_one() -> None:
    event = _event(ev.ReferralStatusChanged, status=ReferralStatus.ACCEPTED, officer=None)
    alert = triggers.alert_for(event, coordinator=BOSS)
    assert alert is not None
    assert alert.recipients == ()


def test_an_overdue_referral_tells_the_partner_then_the_coordinator() -> None:
    alert = triggers.alert_for(_event(ev.ReferralOverdue), coordinator=BOSS)
    assert alert is not None
    assert alert.template == "referral_overdue"
    assert _told(alert) == [(PARTNER, P1.name), (PARTNER, P2.name), (COORDINATOR, BOSS.name)]


def test_an_escalation_tells_the_coordinator_then_the_partner() -> None:
    alert = triggers.alert_for(_event(ev.ReferralEscalated), coordinator=BOSS)
    assert alert is not None
    assert alert.template == "referral_escalated"
    assert _told(alert) == [(COORDINATOR, BOSS.name), (PARTNER, P1.name), (PARTNER, P2.name)]


def test_an_unmet_need_tells_the_coordinator_and_is_never_urgent() -> None:
    alert = triggers.alert_for(_event(ev.ReferralNeedUnmet), coordinator=BOSS)
    assert alert is not None
    assert (alert.template, alert.urgent) == ("need_unmet", False)
    assert _told(alert) == [(COORDINATOR, BOSS.name)]


@pytest.mark.parametrize(
    "kind", [ev.ReferralStatusChanged, ev.ReferralOverdue, ev.ReferralEscalated]
)
@pytest.mark.parametrize("priority", list(Priority))
def test_a_referral_alert_is_urgent_when_the_referral_is(
    kind: type[ev.Event], priority: Priority
) -> None:
    alert = triggers.alert_for(_event(kind, priority=priority), coordinator=BOSS)
    assert alert is not None
    assert alert.urgent == (priority == Priority.URGENT)


@pytest.mark.parametrize(
    "event",
    [
        e
        for e in sample_events()
        if not isinstance(
            e,
            ev.ReferralStatusChanged
            | ev.ReferralOverdue
            | ev.ReferralEscalated
            | ev.ReferralNeedUnmet
            | ev.CaseTaskDue,
        )
    ],
    ids=lambda e: type(e).__name__,
)
def test_no_other_event_tells_anyone(event: ev.Event) -> None:
    assert triggers.alert_for(event, coordinator=BOSS) is None


def test_a_task_due_tomorrow_reminds_the_person_responsible_and_no_one_else() -> None:
    due = next(e for e in sample_events() if isinstance(e, ev.CaseTaskDue))
    alert = triggers.alert_for(due, coordinator=BOSS)
    assert alert is not None
    assert alert.template == "task_due"
    assert not alert.urgent  # quiet hours hold: a reminder is not an emergency
    assert [(r.role, r.contact) for r in alert.recipients] == [("officer", due.officer)]
