"""Message texts from Jinja2 templates (Bahasa Indonesia, English available).

The context is built here from an allow-list of fields: references, the service, the partner's
name, the deadline and a link. No victim's name, no offence type, nothing identifying a child
can reach a template, because none is ever put in the context (R6); a context holding any other
field is refused with TemplateContextNotAllowed before anything is rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from jejaring.notify.models import RecipientRole
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Lang, Service

_env = Environment(
    loader=PackageLoader("jejaring.notify", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain text for SMS and email, no HTML
    keep_trailing_newline=False,
)
WITA = ZoneInfo("Asia/Makassar")
CONTEXT_FIELDS = frozenset(
    {"reference", "service", "partner", "deadline", "link", "urgent", "offered_to"}
)


class TemplateContextNotAllowed(Exception):
    """A template was given fields outside the allow-list (R6): nothing is rendered. Only the
    fields' names are kept, never their values."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(sorted(fields))
        super().__init__(
            "fields outside the template allow-list (R6): " + ", ".join(map(repr, self.fields))
        )


def check_context(data: dict[str, Any]) -> None:
    """Raise TemplateContextNotAllowed unless every field of `data` is allow-listed."""
    extra = set(data) - CONTEXT_FIELDS
    if extra:
        raise TemplateContextNotAllowed(extra)


def local_time(value: dt.datetime | None, lang: Lang) -> str:
    if value is None:
        return "-"
    return value.astimezone(WITA).strftime("%d-%m-%Y %H:%M") + (
        " WITA" if lang == "id" else " WITA (UTC+8)"
    )


def context(
    event: ev.Event,
    *,
    role: RecipientRole,
    lang: Lang,
    urgent: bool,
    intake_url: str,
    referral_url: str,
    web_url: str | None = None,
) -> dict[str, Any]:
    """The allow-listed fields a template may use. With `web_url` (the web app people sign in
    to), officers and the coordinator get a link to the case's page there, partner staff one to
    the referral's page; it opens after signing in. The link carries an id only."""
    assert isinstance(
        event,
        ev.ReferralNeedUnmet
        | ev.ReferralStatusChanged
        | ev.ReferralOverdue
        | ev.ReferralEscalated
        | ev.CaseTaskDue,
    )
    case_link = (
        f"{web_url}/cases/{event.case_id}"
        if web_url
        else f"{intake_url}/api/v1/cases/{event.case_id}"
    )
    data: dict[str, Any] = {"urgent": urgent, "offered_to": "", "partner": "", "deadline": "-"}
    if isinstance(event, ev.CaseTaskDue):
        # The reference and the day only: never the task's text (it may name people).
        data.update(reference=event.reference, deadline=event.due_on.strftime("%d-%m-%Y"))
        data.update(service="", link=case_link)
        return data
    if isinstance(event, ev.ReferralNeedUnmet):
        data.update(reference=event.case_reference, service=event.service.label(lang))
        data["link"] = case_link
        return data
    data.update(
        reference=event.case_reference,
        service=Service(event.service).label(lang),
        partner=event.partner_name or event.partner_slug,
        deadline=local_time(event.accept_by, lang),
    )
    if isinstance(event, ev.ReferralEscalated):
        data["offered_to"] = ", ".join(event.offered_to)
    if role == RecipientRole.PARTNER:
        data["link"] = (
            f"{web_url}/referrals/{event.referral_id}"
            if web_url
            else f"{referral_url}/api/v1/partners/{event.partner_slug}/referrals"
        )
    else:
        data["link"] = case_link
    return data


def render(template: str, data: dict[str, Any], lang: Lang) -> tuple[str, str]:
    """(subject, text) of `template` in `lang`."""
    check_context(data)
    subject = " ".join(_env.get_template(f"{lang}/{template}.subject.j2").render(**data).split())
    text = " ".join(_env.get_template(f"{lang}/{template}.j2").render(**data).split())
    # One line (an email header: a name with a line break must not end it) that fits the
    # delivery log's column, whatever a partner's name makes of it.
    return _shortened(subject, SUBJECT_MAX), text


SUBJECT_MAX = 200  # Delivery.subject


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# The parameters of each alert kind's WhatsApp template ({{1}}, {{2}}, ... in this order): the
# allow-listed fields its SMS text shows, so a template says no more than the SMS does.
TEMPLATE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "referral_requested": ("reference", "service", "deadline", "link"),
    "referral_accepted": ("reference", "service", "partner", "link"),
    "referral_rejected": ("reference", "service", "partner", "link"),
    "referral_cancelled": ("reference", "service", "link"),
    "referral_overdue": ("reference", "service", "partner", "deadline", "link"),
    "referral_escalated": ("reference", "service", "partner", "offered_to", "link"),
    "need_unmet": ("service", "reference", "link"),
    "task_due": ("reference", "deadline", "link"),
}


def template_parameters(template: str, data: dict[str, Any]) -> list[str]:
    """The values of `template`'s WhatsApp parameters, from the allow-listed `data`: one line
    each (WhatsApp refuses line breaks in a parameter), "-" for an empty one."""
    check_context(data)
    return [" ".join(str(data[name]).split()) or "-" for name in TEMPLATE_PARAMETERS[template]]


TEMPLATES = (
    "referral_requested",
    "referral_accepted",
    "referral_rejected",
    "referral_cancelled",
    "referral_overdue",
    "referral_escalated",
    "need_unmet",
    "task_due",
)
