"""What alerts say and to whom: never a victim's name, an offence, or a child's identity."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from jejaring.notify import render, triggers
from jejaring.notify.models import Delivery
from jejaring.notify.service import quiet_until
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus
from jejaring.testing import CHILD_NAME, VICTIM_NAME, sample_events

FORBIDDEN = [
    CHILD_NAME,
    VICTIM_NAME,
    "Putri",
    "Siti",
    "dipukul",
    "kekerasan",
    "Fisik",
    "Psikis",
    "Seksual",
    "sexual",
    "physical",
    "psychological",
    "Mayjen Sutoyo",
    "0812345",
]
PARTNER = ev.Contact(
    name="Koordinator Posbakum",
    phone="+62 811 0000 301",
    email="p@example.org",
    preferred_channel="email",
    quiet_hours=ev.QuietHours(start="21:00", end="07:00"),
)
OFFICER = ev.Contact(name="Ibu Wulan", phone="+62 813 0000 001")
BOSS = ev.Contact(name="Kasi Kesos", phone="+62 811 9999 999", email="kasi@example.org")


def facts() -> list[ev.Event]:
    out: list[ev.Event] = []
    for e in sample_events():
        if isinstance(e, ev.ReferralStatusChanged | ev.ReferralOverdue | ev.ReferralEscalated):
            e = e.model_copy(
                update={
                    "partner_contacts": (PARTNER,),
                    "officer": OFFICER,
                    "partner_name": "Posbakum",
                }
            )
        out.append(e)
    return out


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_template_renders_without_names_or_offences(lang: str) -> None:
    rendered = 0
    events = [e for e in facts() if isinstance(e, ev.ReferralStatusChanged)]
    status_events = [events[0].model_copy(update={"status": s}) for s in ReferralStatus]
    for event in [*status_events, *facts()]:
        alert = triggers.alert_for(event, coordinator=BOSS)
        if alert is None:
            continue
        for recipient in alert.recipients:
            data = render.context(
                event,
                role=recipient.role,
                lang=lang,
                urgent=alert.urgent,  # type: ignore[arg-type]
                intake_url="http://i",
                referral_url="http://r",
                web_url="https://jejaring.example",
            )
            subject, text = render.render(alert.template, data, lang)  # type: ignore[arg-type]
            assert "BPT-2026-000123" in text
            if recipient.role != "partner":
                assert f"https://jejaring.example/cases/{event.case_id}" in text
            elif not isinstance(event, ev.ReferralNeedUnmet):
                # a partner's link opens the referral's page in the web app
                assert f"https://jejaring.example/referrals/{event.referral_id}" in text
            for word in FORBIDDEN:
                assert word.lower() not in (subject + text).lower(), (alert.template, word)
            rendered += 1
    assert {t for t in render.TEMPLATES} <= {
        a.template
        for e in [*status_events, *facts()]
        if (a := triggers.alert_for(e, coordinator=BOSS))
    }
    assert rendered >= 10


def test_without_the_web_app_a_partners_link_is_its_referrals_at_the_api() -> None:
    event = next(e for e in facts() if isinstance(e, ev.ReferralStatusChanged))
    data = render.context(
        event,
        role="partner",
        lang="id",
        urgent=False,
        intake_url="http://i",
        referral_url="http://r",
    )
    assert data["link"] == f"http://r/api/v1/partners/{event.partner_slug}/referrals"


def test_a_template_cannot_be_given_anything_outside_the_allow_list() -> None:
    with pytest.raises(render.TemplateContextNotAllowed):
        render.render("referral_requested", {"reference": "X", "victim_name": CHILD_NAME}, "id")


def test_the_trigger_table() -> None:
    e = {type(x).__name__: x for x in facts()}
    requested = e["ReferralStatusChanged"]
    assert triggers.alert_for(requested, coordinator=BOSS).recipients == (
        triggers.Recipient("partner", PARTNER),
    )  # type: ignore[union-attr]
    accepted = requested.model_copy(update={"status": ReferralStatus.ACCEPTED})
    assert [r.role for r in triggers.alert_for(accepted, coordinator=BOSS).recipients] == [
        "officer"
    ]  # type: ignore[union-attr]
    assert (
        triggers.alert_for(
            requested.model_copy(update={"status": ReferralStatus.IN_PROGRESS}), coordinator=BOSS
        )
        is None
    )
    assert [
        r.role for r in triggers.alert_for(e["ReferralOverdue"], coordinator=BOSS).recipients
    ] == ["partner", "coordinator"]  # type: ignore[union-attr]
    assert [
        r.role for r in triggers.alert_for(e["ReferralEscalated"], coordinator=BOSS).recipients
    ] == ["coordinator", "partner"]  # type: ignore[union-attr]
    assert [
        r.role for r in triggers.alert_for(e["ReferralNeedUnmet"], coordinator=BOSS).recipients
    ] == ["coordinator"]  # type: ignore[union-attr]


def test_urgent_alerts_go_by_sms_others_by_preference_with_the_other_as_fallback() -> None:
    assert triggers.channel_for(PARTNER, urgent=False) == (
        "email",
        "p@example.org",
        "+62 811 0000 301",
    )
    assert triggers.channel_for(PARTNER, urgent=True) == (
        "sms",
        "+62 811 0000 301",
        "p@example.org",
    )
    assert triggers.channel_for(OFFICER, urgent=False) == ("sms", "+62 813 0000 001", None)
    assert triggers.channel_for(ev.Contact(name="nobody"), urgent=True) is None
    requested = next(x for x in facts() if isinstance(x, ev.ReferralStatusChanged))
    assert triggers.alert_for(
        requested.model_copy(update={"priority": Priority.URGENT}), coordinator=BOSS
    ).urgent  # type: ignore[union-attr]


def test_quiet_hours_defer_non_urgent_until_they_end() -> None:
    row = Delivery(id=uuid.uuid4(), urgent=False, quiet_start="21:00", quiet_end="07:00")
    wita = dt.timezone(dt.timedelta(hours=8))
    night = dt.datetime(2026, 11, 28, 22, 30, tzinfo=wita)
    assert quiet_until(row, night) == dt.datetime(2026, 11, 29, 7, 0, tzinfo=wita)
    early = dt.datetime(2026, 11, 29, 6, 59, tzinfo=wita)
    assert quiet_until(row, early) == dt.datetime(2026, 11, 29, 7, 0, tzinfo=wita)
    assert quiet_until(row, dt.datetime(2026, 11, 29, 7, 0, tzinfo=wita)) is None
    row.urgent = True
    assert quiet_until(row, night) is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "id",
            "Jejaring: Pengingat: ada tugas kasus BPT-2026-000123 yang jatuh tempo besok "
            "({day}). Buka Jejaring: https://jejaring.example/cases/{case}",
        ),
        (
            "en",
            "Jejaring: Reminder: a task of case BPT-2026-000123 is due tomorrow ({day}). "
            "Open Jejaring: https://jejaring.example/cases/{case}",
        ),
    ],
)
def test_a_task_reminder_says_the_reference_and_the_day_only(lang: str, expected: str) -> None:
    due = next(e for e in sample_events() if isinstance(e, ev.CaseTaskDue))
    data = render.context(
        due,
        role="officer",  # type: ignore[arg-type]
        lang=lang,  # type: ignore[arg-type]
        urgent=False,
        intake_url="http://i",
        referral_url="http://r",
        web_url="https://jejaring.example",
    )
    subject, text = render.render("task_due", data, lang)  # type: ignore[arg-type]
    day = due.due_on.strftime("%d-%m-%Y")
    assert text == expected.format(day=day, case=due.case_id)
    assert "BPT-2026-000123" in subject
    assert due.officer.name not in subject + text
    assert render.template_parameters("task_due", data) == [
        "BPT-2026-000123",
        day,
        f"https://jejaring.example/cases/{due.case_id}",
    ]
