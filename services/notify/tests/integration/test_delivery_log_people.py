"""The delivery log read with people's access tokens: the admin reads it all; an officer or the
coordinator one case at a time, an officer only their own kelurahan's deliveries, and never the
message text nor the recipients' names and addresses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.testing import ShiftedClock, publish, sample_events, until

ADMIN = "admin-token-for-tests-0123456789"
KEY = "identity-key-for-tests-0123456789abcdef"
WITA = dt.timezone(dt.timedelta(hours=8))
KARANG_REJO, MEKAR_SARI = "64.71.04.1003", "64.71.04.1005"
HERE, THERE = "BPT-2026-000123", "BPT-2026-000124"
PARTNER = ev.Contact(name="Piket PPA", phone="+62 811 0000 101", email="ppa@example.org")
SUMMARY = {
    "id",
    "case_reference",
    "referral_id",
    "trigger",
    "recipient_role",
    "channel",
    "status",
    "next_attempt_at",
    "created_at",
    "sent_at",
}


@dataclass
class Notify:
    client: TestClient
    nats_url: str
    clock: ShiftedClock

    def publish(self, event: ev.Event) -> None:
        publish(self.nats_url, event)

    def token(self, role: PersonRole, kelurahan: str | None = None, **changes: Any) -> str:
        person = Person(uuid.uuid4(), f"Someone ({role})", role, kelurahan, changes.get("partner"))
        return issue(person, secret=changes.get("secret", KEY), now=self.clock())

    def read(self, token: str, **params: str) -> Any:
        return self.client.get(
            "/api/v1/deliveries", params=params, headers={"Authorization": f"Bearer {token}"}
        )


@pytest.fixture
def notify(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Notify]:
    clock = ShiftedClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=WITA))
    settings = NotifySettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        identity_public_key=public_key_of(KEY),
        dispatch_interval_s=0.05,
        coordinator_phone="+62 811 9999 999",
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield Notify(client, nats_url, clock)


def requested(reference: str, kelurahan: str) -> ev.ReferralStatusChanged:
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))
    return base.model_copy(
        update={
            "referral_id": uuid.uuid4(),
            "case_reference": reference,
            "kelurahan_code": kelurahan,
            "partner_contacts": (PARTNER,),
            "status": ReferralStatus.REQUESTED,
        }
    )


def unmet(reference: str, kelurahan: str) -> ev.ReferralNeedUnmet:
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralNeedUnmet))
    return base.model_copy(update={"case_reference": reference, "kelurahan_code": kelurahan})


def test_officers_read_their_kelurahans_deliveries_without_the_text(notify: Notify) -> None:
    for event in (
        requested(HERE, KARANG_REJO),
        unmet(HERE, KARANG_REJO),
        requested(THERE, MEKAR_SARI),
    ):
        notify.publish(event)
    admin = notify.token(PersonRole.ADMIN)

    def settled() -> Any:  # all three planned and sent: no row changes between the reads below
        rows = notify.read(admin).json()
        return len(rows) == 3 and all(r["status"] == "sent" for r in rows) and rows

    rows = until(settled)
    assert {"recipient", "recipient_name", "provider_message_id"} <= set(rows[0])
    assert (
        notify.read(admin).json()
        == notify.client.get(
            "/api/v1/deliveries", headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()
    ), "an admin person reads what the admin token reads"

    karang_rejo = notify.token(PersonRole.OFFICER, KARANG_REJO)
    mine = notify.read(karang_rejo, case_reference=HERE)
    assert mine.status_code == 200, mine.text
    assert sorted(d["trigger"] for d in mine.json()) == ["need_unmet", "referral_requested"]
    for row in mine.json():
        assert set(row) == SUMMARY, "no text, no names, no addresses, no errors"
    assert "ppa@example.org" not in mine.text
    assert "Piket PPA" not in mine.text
    assert notify.read(karang_rejo, case_reference=THERE).json() == []
    assert (
        notify.read(notify.token(PersonRole.OFFICER, MEKAR_SARI), case_reference=HERE).json() == []
    )

    whole = notify.read(karang_rejo)
    assert (whole.status_code, whole.json()["detail"][0]["field"]) == (422, "case_reference")

    coordinator = notify.token(PersonRole.COORDINATOR)
    assert len(notify.read(coordinator, case_reference=HERE).json()) == 2
    (there,) = notify.read(coordinator, case_reference=THERE).json()
    assert set(there) == SUMMARY
    assert notify.read(coordinator).status_code == 422

    staff = notify.token(PersonRole.PARTNER_STAFF, partner="polresta-ppa")
    assert notify.read(staff, case_reference=HERE).status_code == 403


def test_an_expired_or_foreign_person_token_is_401(notify: Notify) -> None:
    token = notify.token(PersonRole.ADMIN)
    assert notify.read(token).status_code == 200
    assert (
        notify.read(
            notify.token(PersonRole.ADMIN, secret="another-key-0123456789abcdefghijkl")
        ).status_code
        == 401
    )
    notify.clock.set(notify.clock() + dt.timedelta(minutes=5))
    expired = notify.read(token)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_a_person_token_stops_here_50_seconds_after_its_issue(notify: Notify) -> None:
    """Notify never asks intake: a person deactivated there reads here until their access
    token expires, within a minute of its issue (50 s on notify's own clock)."""
    issued_at = notify.clock()
    officer = notify.token(PersonRole.OFFICER, KARANG_REJO)
    notify.clock.set(issued_at + dt.timedelta(seconds=49))
    assert notify.read(officer, case_reference=HERE).status_code == 200
    notify.clock.set(issued_at + dt.timedelta(seconds=50))
    refused = notify.read(officer, case_reference=HERE)
    assert refused.status_code == 401
    assert refused.json()["detail"][0]["field"] == "authorization"
