"""The survivor's feedback in notify, on a real nats-server, the real key service answering
for intake (`serve_keys`), and a local HTTP SMS gateway: the one SMS and its quiet hours, her
phone never kept, her reply counted once, and the scores each reader may see."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jejaring.notify.app import create_app
from jejaring.notify.models import FeedbackRequest
from jejaring.notify.settings import NotifySettings
from jejaring.shared import crypto
from jejaring.shared.contract import events as ev
from jejaring.shared.messaging.keys import serve_keys
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.testing import ShiftedClock, publish, sample_events, until
from jejaring.testing.http_peer import HttpPeer, SmsGateway

ADMIN = "admin-token-for-tests-0123456789"
IDENTITY = "identity-key-for-tests-0123456789abcdef"
INBOUND = "sms-inbound-token-for-tests-0123456789"
WITA = dt.timezone(dt.timedelta(hours=8))
PHONE = "081377770001"


@dataclass
class Notify:
    client: TestClient
    nats_url: str
    clock: ShiftedClock
    gateway: SmsGateway
    keys: dict[uuid.UUID, bytes]  # what intake's keyring holds

    def ask(
        self,
        phone: str = PHONE,
        partners: tuple[str, ...] = ("posbakum-aisyiyah",),
        *,
        erased: bool = False,
    ) -> Any:
        """Intake's request for a new case, its phone sealed with the case's new key (which
        intake's key service no longer has when the case was `erased` before notify asks)."""
        case_id, key = uuid.uuid4(), crypto.new_data_key()
        if not erased:
            self.keys[case_id] = key
        base = next(e for e in sample_events() if isinstance(e, ev.CaseFeedbackRequested))
        asked = base.model_copy(
            update={
                "case_id": case_id,
                "reference": f"BPT-2026-{uuid.uuid4().int % 1_000_000:06d}",
                "phone_sealed": crypto.seal(
                    key,
                    phone.encode(),
                    associated=crypto.aad(case_id, ev.CaseFeedbackRequested.PHONE_PURPOSE),
                ),
                "partner_slugs": partners,
            }
        )
        publish(self.nats_url, asked)
        return asked

    def reply(self, text: str, phone: str = PHONE, **body: Any) -> Any:
        return self.client.post(
            "/api/v1/sms/inbound",
            json={"from": phone, "message": text} | body,
            headers={"Authorization": f"Bearer {INBOUND}"},
        )

    def deliveries(self, **params: str) -> list[dict[str, Any]]:
        r = self.client.get(
            "/api/v1/deliveries", params=params, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    def summary(self, role: PersonRole) -> Any:
        person = Person(uuid.uuid4(), "Someone", role, "64.71.04.1003", None)
        token = issue(person, secret=IDENTITY, now=self.clock())
        return self.client.get(
            "/api/v1/feedback/summary", headers={"Authorization": f"Bearer {token}"}
        )

    async def _pending(self) -> list[FeedbackRequest]:
        sessions = self.client.app.state.notify.sessions  # type: ignore[attr-defined]
        async with sessions() as session:
            return list((await session.scalars(select(FeedbackRequest))).all())

    def pending(self) -> list[FeedbackRequest]:
        return self.client.portal.call(self._pending)  # type: ignore[union-attr]


async def _key_service(url: str, keys: dict[uuid.UUID, bytes]) -> Any:
    nc = await nats.connect(url)

    async def lookup(case_id: uuid.UUID) -> bytes | None:
        return keys.get(case_id)

    await serve_keys(nc, lookup)
    return nc


@pytest.fixture
def notify(nats_url: str, notify_settings: Callable[..., NotifySettings]) -> Iterator[Notify]:
    gw, keys = SmsGateway(), {}
    clock = ShiftedClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=WITA))
    with HttpPeer(gw.answer) as peer:
        settings = notify_settings(
            admin_token=ADMIN,
            sms_channel="gateway",
            sms_gateway_url=f"{peer.url}/send",
            sms_inbound_token=INBOUND,
            identity_public_key=public_key_of(IDENTITY),
        )
        with TestClient(create_app(settings, clock=clock)) as client:
            until(lambda: client.get("/readyz").status_code == 200)
            nc = client.portal.call(_key_service, nats_url, keys)  # type: ignore[union-attr]
            yield Notify(client, nats_url, clock, gw, keys)
            client.portal.call(nc.close)  # type: ignore[union-attr]


def test_one_sms_whose_text_names_nothing_and_whose_phone_is_not_kept(notify: Notify) -> None:
    asked = notify.ask()
    (sms,) = until(lambda: notify.gateway.sent)
    assert sms["to"] == PHONE
    assert sms["message"].startswith("Jejaring: terima kasih.")
    assert "1 (buruk) sampai 5 (sangat baik)" in sms["message"]
    for word in (asked.reference, "BPT", "posbakum", "Aisyiyah", "kekerasan", "kasus"):
        assert word.lower() not in sms["message"].lower(), word
    (row,) = until(lambda: notify.deliveries(status="sent"))
    assert (row["trigger"], row["recipient_role"], row["channel"]) == (
        "feedback_request",
        "survivor",
        "sms",
    )
    assert row["recipient"] == "", "her phone is not kept once sent"
    (pending,) = notify.pending()
    assert PHONE not in pending.phone_hash and len(pending.phone_hash) == 64
    publish(notify.nats_url, asked)  # the same case asked again (a replay): nothing more
    time.sleep(0.5)
    assert len(notify.gateway.sent) == 1 and len(notify.pending()) == 1


def test_in_the_survivors_quiet_hours_it_waits_for_the_morning(notify: Notify) -> None:
    notify.clock.set(dt.datetime(2026, 11, 28, 22, 30, tzinfo=WITA))
    notify.ask()
    (row,) = until(lambda: notify.deliveries(status="deferred"))
    assert row["next_attempt_at"].startswith("2026-11-28T23:00:00")  # 07:00 WITA
    assert PHONE not in row["recipient"], "sealed while it waits"
    time.sleep(0.3)
    assert notify.gateway.sent == []
    notify.clock.set(dt.datetime(2026, 11, 29, 7, 0, tzinfo=WITA))
    (sms,) = until(lambda: notify.gateway.sent)
    assert sms["to"] == PHONE


def test_a_case_erased_while_her_sms_waits_for_the_morning_asks_nothing(notify: Notify) -> None:
    notify.clock.set(dt.datetime(2026, 11, 28, 22, 30, tzinfo=WITA))
    asked = notify.ask()
    until(lambda: notify.deliveries(status="deferred"))
    assert len(notify.pending()) == 1
    del notify.keys[asked.case_id]
    publish(
        notify.nats_url,
        ev.CaseErased(
            case_id=asked.case_id,
            reference=asked.reference,
            erased_at=dt.datetime(2026, 11, 28, 23, 0, tzinfo=WITA),
            why="erasure",
        ),
    )
    (row,) = until(lambda: notify.deliveries(status="failed"))
    notify.clock.set(dt.datetime(2026, 11, 29, 7, 0, tzinfo=WITA))
    time.sleep(0.5)
    assert notify.gateway.sent == []
    assert notify.pending() == []
    assert row["last_error"] == "case erased"
    assert notify.reply("5").json() == {"recorded": False}


def test_an_erased_case_is_not_asked(notify: Notify) -> None:
    notify.ask(phone="081377770002", erased=True)  # intake's key service answers "no key"
    notify.ask()
    until(lambda: notify.gateway.sent)
    time.sleep(0.3)
    assert [m["to"] for m in notify.gateway.sent] == [PHONE]


def test_the_reply_is_counted_once_and_only_a_score_counts(notify: Notify) -> None:
    notify.ask(partners=("posbakum-aisyiyah", "bikksa-mentari"))
    until(lambda: notify.pending())
    assert notify.reply("terima kasih").json() == {"recorded": False}
    assert notify.reply("45").json() == {"recorded": False}
    assert notify.reply("4", phone="081300000000").json() == {"recorded": False}  # not asked
    assert notify.reply("4.", phone="+62 813 7777 0001").json() == {"recorded": True}
    assert notify.reply("5").json() == {"recorded": False}, "a second reply counts for nothing"
    assert notify.pending() == []
    expected = [
        {"partner_slug": "bikksa-mentari", "count": 1, "mean": 4.0},
        {"partner_slug": "posbakum-aisyiyah", "count": 1, "mean": 4.0},
    ]
    assert notify.summary(PersonRole.COORDINATOR).json() == expected


def test_a_reply_after_the_request_expired_counts_for_nothing(notify: Notify) -> None:
    notify.ask()
    until(lambda: notify.pending())
    notify.clock.set(dt.datetime(2026, 12, 13, 10, 0, tzinfo=WITA))  # 15 days on
    assert notify.reply("5").json() == {"recorded": False}
    assert notify.pending() == []


def test_small_counts_are_shown_exactly_to_the_coordinator_only(notify: Notify) -> None:
    for n, score in enumerate((5, 4, 2)):
        phone = f"08137777000{n}"
        notify.ask(phone=phone, partners=("posbakum-aisyiyah",) if n < 2 else ("polresta-ppa",))
        until(lambda p=phone: any(m["to"] == p for m in notify.gateway.sent))
        assert notify.reply(str(score), phone=phone).json() == {"recorded": True}
    assert notify.summary(PersonRole.COORDINATOR).json() == [
        {"partner_slug": "polresta-ppa", "count": 1, "mean": 2.0},
        {"partner_slug": "posbakum-aisyiyah", "count": 2, "mean": 4.5},
    ]
    hidden = [
        {"partner_slug": "polresta-ppa", "count": "<3", "mean": None},
        {"partner_slug": "posbakum-aisyiyah", "count": "<3", "mean": None},
    ]
    assert notify.summary(PersonRole.OFFICER).json() == hidden
    admin = notify.client.get(
        "/api/v1/feedback/summary", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert admin.json() == hidden
    refused = notify.summary(PersonRole.PARTNER_STAFF)
    assert refused.status_code == 403
    assert notify.client.get("/api/v1/feedback/summary").status_code == 401


def test_the_inbound_endpoint_refuses_clearly(notify: Notify) -> None:
    wrong = notify.client.post(
        "/api/v1/sms/inbound",
        json={"from": PHONE, "message": "4"},
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401
    missing = notify.client.post(
        "/api/v1/sms/inbound",
        json={"from": PHONE},
        headers={"Authorization": f"Bearer {INBOUND}"},
    )
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "message"
    junk = notify.client.post(
        "/api/v1/sms/inbound",
        content=b"[1, 2",
        headers={"Authorization": f"Bearer {INBOUND}", "Content-Type": "application/json"},
    )
    assert junk.status_code == 400
    assert junk.json()["detail"][0]["field"] == "body"
    form = notify.client.post(
        "/api/v1/sms/inbound",
        data={"from": PHONE, "message": "3"},
        headers={"Authorization": f"Bearer {INBOUND}"},
    )
    assert form.json() == {"recorded": False}  # a form is read too (no request waits here)


def test_without_its_token_setting_the_inbound_endpoint_is_off(
    nats_url: str, notify_settings: Callable[..., NotifySettings]
) -> None:
    with TestClient(create_app(notify_settings(admin_token=ADMIN))) as client:
        r = client.post("/api/v1/sms/inbound", json={"from": PHONE, "message": "4"})
        assert r.status_code == 404
