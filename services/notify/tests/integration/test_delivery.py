"""Alerts delivered for real: an SMTP server (aiosmtpd) and a local HTTP SMS gateway receive
them; retries, fallback, quiet hours and redelivery are checked on what those servers saw."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import nats
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import envelope
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus
from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import CHILD_NAME, ShiftedClock, publish, sample_events, until
from jejaring.testing.http_peer import HttpPeer, Received

ADMIN = "admin-token-for-tests-0123456789"
WITA = dt.timezone(dt.timedelta(hours=8))
EMAIL_PARTNER = ev.Contact(
    name="Posbakum",
    phone="+62 811 0000 301",
    email="posbakum@example.org",
    preferred_channel="email",
)
SMS_PARTNER = ev.Contact(
    name="Piket PPA",
    phone="+62 811 0000 101",
    email="ppa@example.org",
    preferred_channel="sms",
    quiet_hours=ev.QuietHours(start="21:00", end="07:00"),
)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, env: Any) -> str:
        self.messages.append((env.rcpt_tos, message_from_bytes(env.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@dataclass
class Gateway:
    """A local HTTP server standing in for the SMS provider."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    headers: list[str] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, Any]:
        self.headers.append(request.headers.get("x-api-key", ""))
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.fail_status, {}
        self.received.append(request.json())
        return 200, {"status": "queued", "message_id": f"sms-{len(self.received)}"}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    with HttpPeer(gw.answer) as peer:
        gw.port = peer.port
        yield gw


@dataclass
class Notify:
    client: TestClient
    nats_url: str
    clock: ShiftedClock

    def publish(self, event: ev.Event, msg_id: str | None = None) -> envelope.OutgoingMessage:
        return publish(self.nats_url, event, msg_id=msg_id)

    def deliveries(self, **params: str) -> list[dict[str, Any]]:
        r = self.client.get(
            "/api/v1/deliveries", params=params, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert r.status_code == 200, r.text
        return list(r.json())


@pytest.fixture
def notify(
    nats_url: str,
    notify_settings: Callable[..., NotifySettings],
    smtp: tuple[Mailbox, int],
    gateway: Gateway,
) -> Iterator[Notify]:
    clock = ShiftedClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=WITA))
    settings = notify_settings(
        smtp_port=smtp[1],
        admin_token=ADMIN,
        sms_channel="gateway",
        sms_gateway_url=f"http://127.0.0.1:{gateway.port}/send",
        sms_gateway_auth_header="X-API-Key: test-key",
        sms_gateway_body_template='{"msisdn": "{to}", "text": "{text}"}',
        coordinator_phone="+62 811 9999 999",
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield Notify(client, nats_url, clock)


def requested(*contacts: ev.Contact, urgent: bool = False) -> ev.ReferralStatusChanged:
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    return base.model_copy(
        update={
            "partner_contacts": contacts,
            "partner_name": "Pos Bantuan Hukum 'Aisyiyah",
            "priority": Priority.URGENT if urgent else Priority.ROUTINE,
            "status": ReferralStatus.REQUESTED,
        }
    )


def test_an_email_alert_reaches_the_smtp_server(notify: Notify, smtp: tuple[Mailbox, int]) -> None:
    box, _ = smtp
    notify.publish(requested(EMAIL_PARTNER))
    until(lambda: box.messages)
    ((rcpt, mail),) = box.messages
    assert rcpt == ["posbakum@example.org"]
    assert "BPT-2026-000123" in mail["Subject"]
    body = mail.get_payload()
    assert "Bantuan Hukum" in body
    assert CHILD_NAME not in body
    (d,) = until(lambda: [x for x in notify.deliveries() if x["status"] == "sent"])
    assert (d["channel"], d["recipient_role"], d["attempts"]) == ("email", "partner", 1)
    assert d["provider_message_id"].startswith("<")


def test_an_urgent_alert_goes_by_sms_even_in_quiet_hours(notify: Notify, gateway: Gateway) -> None:
    notify.clock.set(dt.datetime(2026, 11, 28, 23, 30, tzinfo=WITA))
    notify.publish(requested(SMS_PARTNER, urgent=True))
    (sms,) = until(lambda: gateway.received)
    assert sms["msisdn"] == "+62 811 0000 101"
    assert sms["text"].startswith("[SEGERA] Jejaring: rujukan baru BPT-2026-000123")
    assert gateway.headers[0] == "test-key"
    (d,) = notify.deliveries(status="sent")
    assert d["provider_message_id"] == "sms-1"


def test_quiet_hours_defer_then_send(notify: Notify, gateway: Gateway) -> None:
    notify.clock.set(dt.datetime(2026, 11, 28, 22, 0, tzinfo=WITA))
    notify.publish(requested(SMS_PARTNER))
    (d,) = until(lambda: notify.deliveries(status="deferred"))
    assert d["next_attempt_at"].startswith("2026-11-28T23:00:00")  # 07:00 WITA in UTC
    time.sleep(0.3)
    assert gateway.received == [], "nothing is sent during quiet hours"
    notify.clock.set(dt.datetime(2026, 11, 29, 7, 0, tzinfo=WITA))
    until(lambda: gateway.received)
    until(lambda: notify.deliveries(status="sent"))


def test_transient_gateway_failures_are_retried(notify: Notify, gateway: Gateway) -> None:
    gateway.fail_next = 2
    notify.publish(requested(SMS_PARTNER))
    (d,) = until(lambda: notify.deliveries(status="sent"))
    assert d["attempts"] == 3
    assert len(gateway.received) == 1


def test_after_n_failures_the_other_channel_is_used_and_recorded(
    notify: Notify, gateway: Gateway, smtp: tuple[Mailbox, int]
) -> None:
    gateway.fail_next = 100
    notify.publish(requested(SMS_PARTNER))
    until(lambda: smtp[0].messages)
    rows = until(lambda: len(notify.deliveries()) == 2 and notify.deliveries())
    failed = next(r for r in rows if r["status"] == "failed")
    fallback = next(r for r in rows if r["fallback_of"] == failed["id"])
    assert (failed["channel"], failed["attempts"], failed["last_error"]) == (
        "sms",
        3,
        "SMS gateway 503",
    )
    until(
        lambda: [
            r for r in notify.deliveries() if r["id"] == fallback["id"] and r["status"] == "sent"
        ]
    )
    assert fallback["channel"] == "email"
    assert smtp[0].messages[0][0] == ["ppa@example.org"]


def test_a_redelivered_event_sends_nothing_twice(notify: Notify, gateway: Gateway) -> None:
    message = notify.publish(requested(SMS_PARTNER))

    async def replay() -> None:
        nc = await nats.connect(notify.nats_url)
        await nc.jetstream().publish(
            message.subject, message.body, headers={**message.headers, "Nats-Msg-Id": "again"}
        )
        await nc.close()

    until(lambda: gateway.received)
    asyncio.run(replay())
    time.sleep(1.0)
    assert len(gateway.received) == 1
    assert len(notify.deliveries()) == 1


def test_the_delivery_log_needs_the_admin_token(notify: Notify) -> None:
    assert notify.client.get("/api/v1/deliveries").status_code == 401
    notify.publish(requested(EMAIL_PARTNER))
    until(lambda: notify.deliveries(case_reference="BPT-2026-000123"))
    assert notify.deliveries(case_reference="BPT-2026-999999") == []


def test_an_address_no_email_header_may_carry_fails_once_then_falls_back(
    notify: Notify, smtp: tuple[Mailbox, int], gateway: Gateway
) -> None:
    """A line break in an address (from a producer that did not refuse it) once left the
    delivery sent again after every lease, for ever. It is a permanent failure now: tried once,
    never retried, and the contact's other channel takes over."""
    box, _ = smtp
    broken = EMAIL_PARTNER.model_copy(
        update={"email": "posbakum@example.org\nBcc: someone@example.net"}
    )
    notify.publish(requested(broken))
    (sms,) = until(lambda: gateway.received)
    assert sms["msisdn"] == "+62 811 0000 301"
    (failed,) = [d for d in notify.deliveries() if d["channel"] == "email"]
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["last_error"] == "message not sendable: ValueError"
    time.sleep(0.5)  # dispatch runs every 0.05 s: ten rounds, and no attempt more
    (again,) = [d for d in notify.deliveries() if d["channel"] == "email"]
    assert again["attempts"] == 1
    assert box.messages == []


def test_a_partner_name_with_a_line_break_makes_one_subject_line(
    notify: Notify, smtp: tuple[Mailbox, int]
) -> None:
    """A partner's name goes into the subject: whatever it holds, the subject is one line that
    fits the delivery log (200 characters), and the mail is sent at the first attempt."""
    box, _ = smtp
    officer = ev.Contact(name="Ibu Wulan", email="wulan@example.org", preferred_channel="email")
    name = "Pos Bantuan Hukum\nBcc: someone@example.net " + "x" * 150
    accepted = requested().model_copy(
        update={"status": ReferralStatus.ACCEPTED, "officer": officer, "partner_name": name}
    )
    notify.publish(accepted)
    ((rcpt, mail),) = until(lambda: box.messages)
    assert rcpt == ["wulan@example.org"]
    # Read as a mail client does: the folding of a long header undone, encoded words decoded.
    subject = str(message_from_bytes(mail.as_bytes(), policy=email.policy.default)["Subject"])
    assert "\n" not in subject and len(subject) <= 200
    assert subject.startswith("Rujukan BPT-2026-000123 diterima oleh Pos Bantuan Hukum Bcc:")
    assert subject.endswith("…")
    assert mail["Bcc"] is None
    (d,) = until(lambda: [x for x in notify.deliveries() if x["status"] == "sent"])
    assert d["attempts"] == 1
