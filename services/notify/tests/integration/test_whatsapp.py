"""WhatsApp first, SMS after it, for real: events published to a real nats-server, notify
consuming them, and local HTTP servers speaking WhatsApp's Cloud API and an SMS gateway (JSON or
form-encoded, as Zenziva-style gateways take it); an SMTP server (aiosmtpd) behind SMS. Checked
on what those servers received and on the delivery log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import Priority, ReferralStatus
from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import CHILD_NAME, VICTIM_NAME, ShiftedClock, publish, sample_events, until
from jejaring.testing.http_peer import HttpPeer, Received

ADMIN = "admin-token-for-tests-0123456789"
TOKEN = "EAAGtest" + "Qk2mWv9Rt4Lp8Zs3Nd6Hy1Bc5Fj0" * 2
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
VERIFY_TOKEN = "jejaring-webhook-Vx83kQp2"
WITA = dt.timezone(dt.timedelta(hours=8))
PARTNER = ev.Contact(
    name="Piket PPA", phone="0811-0000-101", email="ppa@example.org", preferred_channel="sms"
)
# Words of the sample case that no message may carry (names, the offence, the child).
PARTNER_LINK = "http://127.0.0.1:8001/api/v1/partners/posbakum-aisyiyah/referrals"
PRIVATE = (CHILD_NAME, VICTIM_NAME, "Piket PPA", "kekerasan", "fisik", "SKTM")


@dataclass
class CloudApi:
    """WhatsApp's Cloud API as far as sending a template goes: the path, the Bearer token, and
    the answers it gives (`failures` first, then success)."""

    failures: list[tuple[int, Any]] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, Any]:
        if request.path != f"/v21.0/{PHONE_NUMBER_ID}/messages":
            return 404, {"error": {"code": 803, "message": "Unknown path"}}
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"error": {"code": 190, "message": "Invalid OAuth access token"}}
        body = request.json()
        if body.get("messaging_product") != "whatsapp" or body.get("type") != "template":
            return 400, {"error": {"code": 100, "message": "Invalid parameter"}}
        if self.failures:
            return self.failures.pop(0)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": "wamid.HBgNNjI4MTEwMDAwMDEwMRUCABEYEjQ4"}],
        }


@dataclass
class SmsGateway:
    """An SMS gateway: `failures` first, then {"status": "1", "messageId": …} (Zenziva's shape)."""

    failures: list[int] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, Any]:
        if self.failures:
            return self.failures.pop(0), {"status": "0", "text": "failed"}
        return 200, {"status": "1", "messageId": "sms-1", "text": "Success"}


class Mailbox:
    def __init__(self) -> None:
        self.to: list[list[str]] = []
        self.texts: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, env: Any) -> str:
        self.to.append(env.rcpt_tos)
        self.texts.append(str(message_from_bytes(env.content).get_payload()))
        return "250 OK"


@dataclass
class Stack:
    client: TestClient
    nats_url: str
    cloud: CloudApi
    whatsapp: HttpPeer
    sms: SmsGateway
    gateway: HttpPeer
    mailbox: Mailbox

    def publish(self, event: ev.Event) -> None:
        publish(self.nats_url, event)

    def deliveries(self) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/deliveries", headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200, r.text
        return list(r.json())

    def report(self, payload: Any, *, secret: str = APP_SECRET) -> Any:
        """POST a webhook call to notify as Meta does, signed with `secret`."""
        body = json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.client.post(
            "/api/v1/whatsapp/webhook",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"},
        )

    def settled(self, count: int) -> list[dict[str, Any]]:
        """The delivery log once `count` rows are there and none is still to send."""
        return list(
            until(
                lambda: (rows := self.deliveries())
                and len(rows) == count
                and all(r["status"] in ("sent", "failed") for r in rows)
                and rows
            )
        )


def stack(
    nats_url: str, notify_settings: Callable[..., NotifySettings], **settings: Any
) -> Iterator[Stack]:
    cloud, sms, mailbox = CloudApi(), SmsGateway(), Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with HttpPeer(cloud.answer) as whatsapp, HttpPeer(sms.answer) as gateway:
        defaults: dict[str, Any] = dict(
            smtp_port=smtp_port,
            admin_token=ADMIN,
            sms_channel="gateway",
            sms_gateway_url=f"{gateway.url}/api/sendsms/",
            sms_gateway_message_id_field="messageId",
            sms_gateway_success_contains='"status": "1"',
            whatsapp_channel="cloud",
            whatsapp_base_url=whatsapp.url,
            whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_access_token=TOKEN,
            whatsapp_timeout_s=0.5,
            whatsapp_app_secret=APP_SECRET,
            whatsapp_verify_token=VERIFY_TOKEN,
        )
        config = notify_settings(**(defaults | settings))
        clock = ShiftedClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=WITA))
        try:
            with TestClient(create_app(config, clock=clock)) as client:
                until(lambda: client.get("/readyz").status_code == 200)
                yield Stack(client, nats_url, cloud, whatsapp, sms, gateway, mailbox)
        finally:
            controller.stop()


@pytest.fixture
def notify(nats_url: str, notify_settings: Callable[..., NotifySettings]) -> Iterator[Stack]:
    yield from stack(nats_url, notify_settings)


def requested(urgent: bool = False) -> ev.ReferralStatusChanged:
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    return base.model_copy(
        update={
            "partner_contacts": (PARTNER,),
            "partner_name": "Pos Bantuan Hukum 'Aisyiyah",
            "priority": Priority.URGENT if urgent else Priority.ROUTINE,
            "status": ReferralStatus.REQUESTED,
        }
    )


def test_an_alert_reaches_whatsapp_as_the_approved_template(notify: Stack) -> None:
    notify.publish(requested())
    (request,) = until(lambda: notify.whatsapp.received)
    body = request.json()
    assert body["to"] == "628110000101"  # the phone's leading 0 is Indonesia's 62
    assert body["template"] == {
        "name": "jejaring_referral_requested",
        "language": {"code": "id"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "BPT-2026-000123"},
                    {"type": "text", "text": "Bantuan Hukum"},
                    {"type": "text", "text": "20-11-2026 10:00 WITA"},
                    {"type": "text", "text": PARTNER_LINK},
                ],
            }
        ],
    }
    raw = request.body.decode()
    assert [word for word in PRIVATE if word in raw] == []
    (row,) = notify.settled(1)
    assert (row["channel"], row["status"], row["attempts"]) == ("whatsapp", "sent", 1)
    assert row["provider_message_id"].startswith("wamid.")
    assert notify.gateway.received == [], "no SMS when WhatsApp took it"


@pytest.mark.parametrize(
    ("failures", "whatsapp_error", "tries"),
    [
        (
            [(400, {"error": {"code": 132001, "message": "Template name does not exist"}})],
            "WhatsApp 400: template does not exist in this language (132001)",
            1,  # a permanent refusal: SMS at once
        ),
        (
            [(500, {"error": {"code": 131000, "message": "Something went wrong"}})] * 2,
            "WhatsApp 500: something went wrong (131000)",
            2,  # NOTIFY_WHATSAPP_MAX_ATTEMPTS
        ),
    ],
)
def test_a_failed_whatsapp_falls_back_to_sms_and_the_log_shows_both(
    notify: Stack, failures: list[tuple[int, Any]], whatsapp_error: str, tries: int
) -> None:
    notify.cloud.failures = list(failures)
    notify.publish(requested())
    (sms,) = until(lambda: notify.gateway.received)
    assert sms.json()["to"] == "0811-0000-101"
    assert sms.json()["message"].startswith("Jejaring: rujukan baru BPT-2026-000123")
    first, second = notify.settled(2)
    assert (first["channel"], first["status"], first["attempts"], first["last_error"]) == (
        "whatsapp",
        "failed",
        tries,
        whatsapp_error,
    )
    assert (second["channel"], second["status"], second["fallback_of"]) == (
        "sms",
        "sent",
        first["id"],
    )
    assert second["provider_message_id"] == "sms-1"
    assert len(notify.whatsapp.received) == tries
    assert notify.mailbox.to == []


def test_a_whatsapp_that_does_not_answer_in_time_falls_back_to_sms(notify: Stack) -> None:
    notify.whatsapp.delay_s = 1.0  # NOTIFY_WHATSAPP_TIMEOUT_S=0.5
    notify.publish(requested(urgent=True))
    until(lambda: notify.gateway.received)
    first, second = notify.settled(2)
    assert (first["channel"], first["last_error"], first["attempts"]) == (
        "whatsapp",
        "WhatsApp timed out",
        2,
    )
    assert (second["channel"], second["status"]) == ("sms", "sent")


def test_when_sms_fails_too_the_email_still_gets_it(notify: Stack) -> None:
    notify.cloud.failures = [(401, {"error": {"code": 190, "message": "token expired"}})]
    notify.sms.failures = [400]
    notify.publish(requested())
    until(lambda: notify.mailbox.to)
    assert notify.mailbox.to == [["ppa@example.org"]]
    assert "BPT-2026-000123" in notify.mailbox.texts[0]
    rows = notify.settled(3)
    assert [(r["channel"], r["status"]) for r in rows] == [
        ("whatsapp", "failed"),
        ("sms", "failed"),
        ("email", "sent"),
    ]
    assert rows[0]["last_error"] == "WhatsApp 401: access token expired (190)"
    assert rows[1]["last_error"] == "SMS gateway refused: 400"
    assert [rows[1]["fallback_of"], rows[2]["fallback_of"]] == [rows[0]["id"], rows[1]["id"]]


@pytest.fixture
def form_notify(nats_url: str, notify_settings: Callable[..., NotifySettings]) -> Iterator[Stack]:
    yield from stack(
        nats_url,
        notify_settings,
        whatsapp_channel="off",
        whatsapp_app_secret=None,
        sms_gateway_body_format="form",
        sms_gateway_form_to_field="to",
        sms_gateway_form_text_field="message",
        sms_gateway_form_extra="userkey=ab12cd&passkey=s3cr%26t",
    )


def test_a_form_gateway_receives_its_fields(form_notify: Stack) -> None:
    form_notify.publish(requested())
    (sms,) = until(lambda: form_notify.gateway.received)
    assert sms.content_type == "application/x-www-form-urlencoded"
    fields = sms.form()
    assert set(fields) == {"userkey", "passkey", "to", "message"}
    assert (fields["userkey"], fields["passkey"], fields["to"]) == (
        ["ab12cd"],
        ["s3cr&t"],
        ["0811-0000-101"],
    )
    (text,) = fields["message"]
    assert text.startswith("Jejaring: rujukan baru BPT-2026-000123 untuk layanan Bantuan Hukum.")
    assert [word for word in PRIVATE if word in text] == []
    (row,) = form_notify.settled(1)
    assert (row["channel"], row["status"], row["provider_message_id"]) == ("sms", "sent", "sms-1")
    assert form_notify.whatsapp.received == [], "WhatsApp off: never asked"


def failed_status(message_id: str, code: int) -> dict[str, Any]:
    """A Cloud API webhook call reporting one message failed (the shape Meta posts)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281200000000", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [
            {
                "id": message_id,
                "status": "failed",
                "timestamp": "1764300000",
                "recipient_id": "628110000101",
                "errors": [{"code": code, "title": "Message undeliverable"}],
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def test_a_failure_whatsapp_reports_later_falls_back_to_sms(notify: Stack) -> None:
    """A 200 from the Cloud API is "accepted"; a number not on WhatsApp is reported failed
    later, by webhook: the delivery turns failed and the SMS follows."""
    notify.publish(requested())
    (row,) = notify.settled(1)
    assert (row["channel"], row["status"]) == ("whatsapp", "sent")
    report = failed_status(row["provider_message_id"], 131026)
    forged = notify.report(report, secret="not-the-app-secret-0123456789")
    assert forged.status_code == 401
    assert notify.deliveries()[0]["status"] == "sent", "an unsigned report changes nothing"
    r = notify.report(report)
    assert (r.status_code, r.json()) == (200, {"failed": 1})
    (sms,) = until(lambda: notify.gateway.received)
    assert sms.json()["to"] == "0811-0000-101"
    first, second = notify.settled(2)
    assert (first["status"], first["last_error"]) == (
        "failed",
        "WhatsApp reported it failed: message undeliverable (131026)",
    )
    assert (second["channel"], second["status"], second["fallback_of"]) == (
        "sms",
        "sent",
        first["id"],
    )
    again = notify.report(report)  # Meta repeats a call it thinks was lost
    assert (again.status_code, again.json()) == (200, {"failed": 0})
    time.sleep(0.3)
    assert len(notify.gateway.received) == 1, "one SMS, however often it is reported"


def test_the_webhook_subscription_needs_the_verify_token(notify: Stack) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    ok = notify.client.get(
        "/api/v1/whatsapp/webhook", params={**query, "hub.verify_token": VERIFY_TOKEN}
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = notify.client.get(
        "/api/v1/whatsapp/webhook", params={**query, "hub.verify_token": "guess"}
    )
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text


def test_the_webhook_is_off_without_the_app_secret(form_notify: Stack) -> None:
    r = form_notify.client.post("/api/v1/whatsapp/webhook", content=b"{}")
    assert r.status_code == 404
