"""Who is alerted about what: the trigger table, written once.

| event                         | recipients                    |
|-------------------------------|-------------------------------|
| referral requested            | the partner's contacts        |
| referral accepted / rejected  | the officer who recorded it   |
| referral cancelled            | the partner's contacts        |
| referral overdue / escalated  | the partner and the coordinator |
| need unmet                    | the coordinator               |
| case plan task due tomorrow   | the person responsible for it |

An urgent referral (a high-risk case, R3) goes by SMS at once, whatever the hour; everything
else honours each contact's preferred channel and quiet hours. Which channel that is, and the
fallback, is the channel registry's (registry.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from jejaring.notify.models import RecipientRole
from jejaring.notify.registry import CHANNELS, ChannelRegistry, Route
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus


@dataclass(frozen=True)
class Recipient:
    role: RecipientRole
    contact: ev.Contact


@dataclass(frozen=True)
class Alert:
    template: str
    recipients: tuple[Recipient, ...]
    urgent: bool


_ON_STATUS: dict[ReferralStatus, tuple[str, RecipientRole]] = {
    ReferralStatus.REQUESTED: ("referral_requested", RecipientRole.PARTNER),
    ReferralStatus.ACCEPTED: ("referral_accepted", RecipientRole.OFFICER),
    ReferralStatus.REJECTED: ("referral_rejected", RecipientRole.OFFICER),
    ReferralStatus.CANCELLED: ("referral_cancelled", RecipientRole.PARTNER),
}


def _partners(
    fact: ev.ReferralStatusChanged | ev.ReferralOverdue | ev.ReferralEscalated,
) -> tuple[Recipient, ...]:
    return tuple(Recipient(RecipientRole.PARTNER, c) for c in fact.partner_contacts)


def alert_for(event: ev.Event, *, coordinator: ev.Contact) -> Alert | None:
    """The alert an event causes, if any."""
    boss = (Recipient(RecipientRole.COORDINATOR, coordinator),)
    if isinstance(event, ev.ReferralStatusChanged):
        rule = _ON_STATUS.get(event.status)
        if rule is None:
            return None
        template, role = rule
        if role == RecipientRole.PARTNER:
            recipients = _partners(event)
        else:
            recipients = (Recipient(role, event.officer),) if event.officer else ()
        return Alert(template, recipients, event.priority == Priority.URGENT)
    if isinstance(event, ev.ReferralOverdue):
        return Alert("referral_overdue", _partners(event) + boss, event.priority == Priority.URGENT)
    if isinstance(event, ev.ReferralEscalated):
        return Alert(
            "referral_escalated", boss + _partners(event), event.priority == Priority.URGENT
        )
    if isinstance(event, ev.ReferralNeedUnmet):
        return Alert("need_unmet", boss, False)
    if isinstance(event, ev.CaseTaskDue):
        return Alert("task_due", (Recipient(RecipientRole.OFFICER, event.officer),), False)
    return None


def channel_for(
    contact: ev.Contact,
    *,
    urgent: bool,
    registry: ChannelRegistry = CHANNELS,
    settings: NotifySettings | None = None,
) -> Route | None:
    """(channel, address, the fallback channel's address) for a contact, or None if it has no
    address at all. Urgent alerts go on the urgent channel (SMS) when there is a phone; with
    `settings`, WhatsApp first when it is switched on."""
    return registry.route(contact, urgent=urgent, settings=settings)
