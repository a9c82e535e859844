"""The channel registry: which channels there are, where an alert goes, where a failed one
falls back to (and the fallback row the dispatcher records), and that the set is open."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.notify import triggers
from jejaring.notify.channels import Channel, FileChannel, SendError
from jejaring.notify.models import Delivery, DeliveryStatus, RecipientRole
from jejaring.notify.registry import (
    CHANNELS,
    ChannelKind,
    ChannelRegistry,
    ChannelSpec,
    Route,
)
from jejaring.notify.service import Dispatcher
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
PHONE, EMAIL = "+62 811 0000 301", "p@example.org"


def test_the_channels_in_their_order_with_their_fallbacks() -> None:
    assert CHANNELS.names == ("sms", "email", "whatsapp")
    assert [str(k) for k in ChannelKind] == ["sms", "email", "whatsapp"]
    assert set(CHANNELS.names) == set(ChannelKind)
    assert (CHANNELS.default, CHANNELS.urgent) == ("sms", "sms")
    assert CHANNELS.fallback("sms") == "email"
    assert CHANNELS.fallback("email") == "sms"
    assert CHANNELS.fallback("whatsapp") == "sms"
    assert CHANNELS["whatsapp"].ahead_of == "sms"
    assert CHANNELS["sms"].setting == "sms_channel"
    assert CHANNELS["email"].setting == "email_channel"
    assert CHANNELS["whatsapp"].setting == "whatsapp_channel"


def test_each_channel_reaches_its_contact_field() -> None:
    contact = ev.Contact(name="x", phone=PHONE, email=EMAIL)
    assert CHANNELS["sms"].address(contact) == PHONE
    assert CHANNELS["email"].address(contact) == EMAIL


def test_an_unknown_channel_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="'fax'.*it has: sms, email, whatsapp"):
        CHANNELS.fallback("fax")
    assert "fax" not in CHANNELS
    assert "sms" in CHANNELS


def _before(contact: ev.Contact, urgent: bool) -> tuple[str, str, str | None] | None:
    """The routing as it was written before the registry (sms and email spelled out)."""
    addresses = {"sms": contact.phone, "email": contact.email}
    order = ["sms", "email"] if urgent else [contact.preferred_channel or "sms"]
    order += [c for c in ("sms", "email") if c not in order]
    usable = [(c, addresses[c]) for c in order if addresses[c]]
    if not usable:
        return None
    (channel, address), *rest = usable
    assert address is not None
    return channel, address, rest[0][1] if rest else None


@pytest.mark.parametrize(
    ("phone", "email", "preferred", "urgent"),
    list(itertools.product([None, "", PHONE], [None, "", EMAIL], [None, "sms", "email"], [0, 1])),
)
def test_routing_is_what_it_was(
    phone: str | None, email: str | None, preferred: Any, urgent: int
) -> None:
    contact = ev.Contact(name="x", phone=phone, email=email, preferred_channel=preferred)
    assert CHANNELS.route(contact, urgent=bool(urgent)) == _before(contact, bool(urgent))
    assert triggers.channel_for(contact, urgent=bool(urgent)) == _before(contact, bool(urgent))


def test_a_route_names_the_channel_address_and_fallback_address() -> None:
    both = ev.Contact(name="x", phone=PHONE, email=EMAIL, preferred_channel="email")
    assert CHANNELS.route(both, urgent=False) == Route("email", EMAIL, PHONE)
    assert CHANNELS.route(both, urgent=True) == Route("sms", PHONE, EMAIL)
    mail_only = ev.Contact(name="x", email=EMAIL)
    assert CHANNELS.route(mail_only, urgent=True) == Route("email", EMAIL, None)
    assert CHANNELS.route(ev.Contact(name="nobody"), urgent=False) is None


# --- an open set: a third channel is one more entry -----------------------------------------


class TelegramSettings(NotifySettings):
    telegram_channel: str = "file"


def _telegram_registry(*, fallback: str | None = "sms") -> ChannelRegistry:
    telegram = ChannelSpec(
        "telegram",
        address=lambda contact: contact.phone,
        backends={"file": lambda settings, name: FileChannel(Path("/nowhere"), name)},
        fallback=fallback,
    )
    return ChannelRegistry([*CHANNELS, telegram], default="sms", urgent="telegram")


def test_a_new_channel_is_one_registry_entry(tmp_path: Path) -> None:
    registry = _telegram_registry()
    assert registry.names == ("sms", "email", "whatsapp", "telegram")
    assert registry.fallback("telegram") == "sms"
    contact = ev.Contact(name="x", phone=PHONE, email=EMAIL)
    assert registry.route(contact, urgent=True) == Route("telegram", PHONE, PHONE)
    assert registry.route(contact, urgent=False) == Route("sms", PHONE, EMAIL)
    # The wire contract (shared events.Channel) lets a contact prefer only sms or email today.
    prefers = ev.Contact.model_construct(
        name="x",
        phone=PHONE,
        preferred_channel="telegram",  # type: ignore[arg-type]
    )
    assert registry.route(prefers, urgent=False) == Route("telegram", PHONE, PHONE)
    senders = registry.build(TelegramSettings(data_dir=tmp_path))
    assert set(senders) == {"sms", "email", "whatsapp", "telegram"}
    assert cast(FileChannel, senders["telegram"]).kind == "telegram"


def test_a_new_channel_without_a_fallback_has_no_alternate() -> None:
    registry = _telegram_registry(fallback=None)
    contact = ev.Contact(name="x", phone=PHONE, email=EMAIL)
    assert registry.route(contact, urgent=True) == Route("telegram", PHONE, None)
    assert registry.fallback("telegram") is None


@pytest.mark.parametrize(
    ("specs", "default", "urgent", "error"),
    [
        ([*CHANNELS, CHANNELS["sms"]], "sms", "sms", "'sms' is registered twice"),
        (
            [ChannelSpec("sms", lambda c: c.phone, {}, fallback="email")],
            "sms",
            "sms",
            "'sms' falls back to 'email', which is not another registered channel",
        ),
        (
            [ChannelSpec("sms", lambda c: c.phone, {}, fallback="sms")],
            "sms",
            "sms",
            "'sms' falls back to 'sms'",
        ),
        (list(CHANNELS), "fax", "sms", "the default channel 'fax' is not registered"),
        (list(CHANNELS), "sms", "pager", "the urgent channel 'pager' is not registered"),
    ],
)
def test_a_registry_that_contradicts_itself_is_refused(
    specs: list[ChannelSpec], default: str, urgent: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        ChannelRegistry(specs, default=default, urgent=urgent)


# --- the dispatcher's fallback row comes from the registry ----------------------------------


class Recorder:
    """Stands in for the session `_failed` is given: it only adds rows."""

    def __init__(self) -> None:
        self.added: list[Delivery] = []

    def add(self, row: Delivery) -> None:
        self.added.append(row)


def _dispatcher(tmp_path: Path, registry: ChannelRegistry = CHANNELS) -> Dispatcher:
    settings = NotifySettings(data_dir=tmp_path, max_attempts=3)
    channels: dict[str, Channel] = {}
    return Dispatcher(async_sessionmaker(), channels, settings, lambda: NOW, registry)


def _row(channel: str, alternate: str | None, **fields: Any) -> Delivery:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(),
        event_id="evt-1",
        trigger="referral_requested",
        case_reference="BPT-2026-000123",
        referral_id=uuid.uuid4(),
        recipient_name="Piket PPA",
        recipient_role=RecipientRole.PARTNER,
        recipient=PHONE if channel == "sms" else EMAIL,
        channel=channel,
        alternate=alternate,
        urgent=False,
        quiet_start="21:00",
        quiet_end="07:00",
        subject="s",
        body="b",
        status=DeliveryStatus.SENDING,
        attempts=2,
        next_attempt_at=NOW,
        fallback_of=None,
        created_at=NOW - dt.timedelta(minutes=5),
    )
    values.update(fields)
    return Delivery(**values)


async def _fail(dispatcher: Dispatcher, row: Delivery, *, permanent: bool = False) -> Recorder:
    session = Recorder()
    error = SendError("SMS gateway 503", permanent=permanent)
    await dispatcher._failed(cast(AsyncSession, session), row, error, NOW)
    return session


@pytest.mark.parametrize(
    ("channel", "alternate", "other"), [("sms", EMAIL, "email"), ("email", PHONE, "sms")]
)
async def test_a_failed_delivery_falls_back_to_the_registry_s_next_channel(
    tmp_path: Path, channel: str, alternate: str, other: str
) -> None:
    row = _row(channel, alternate)
    (fallback,) = (await _fail(_dispatcher(tmp_path), row)).added
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "SMS gateway 503")
    assert (fallback.channel, fallback.recipient, fallback.alternate) == (other, alternate, None)
    assert (fallback.fallback_of, fallback.status, fallback.attempts) == (row.id, "queued", 0)
    assert (fallback.next_attempt_at, fallback.created_at) == (NOW, NOW)
    same = [
        "event_id",
        "trigger",
        "case_reference",
        "referral_id",
        "recipient_name",
        "recipient_role",
        "urgent",
        "quiet_start",
        "quiet_end",
        "subject",
        "body",
    ]
    assert [getattr(fallback, f) for f in same] == [getattr(row, f) for f in same]


async def test_a_new_channel_falls_back_where_its_entry_says(tmp_path: Path) -> None:
    row = _row("telegram", EMAIL, recipient=PHONE)
    (fallback,) = (await _fail(_dispatcher(tmp_path, _telegram_registry()), row)).added
    assert (fallback.channel, fallback.recipient) == ("sms", EMAIL)


async def test_a_permanent_failure_falls_back_at_once(tmp_path: Path) -> None:
    row = _row("sms", EMAIL, attempts=0)
    (fallback,) = (await _fail(_dispatcher(tmp_path), row, permanent=True)).added
    assert (row.status, row.attempts, fallback.channel) == ("failed", 1, "email")


async def test_no_fallback_without_an_address(tmp_path: Path) -> None:
    row = _row("sms", None)  # the contact has no address on the fallback channel
    assert (await _fail(_dispatcher(tmp_path), row)).added == []
    assert row.status == "failed"


async def test_a_fallback_to_another_address_does_not_fall_back_again(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path)
    (email,) = (await _fail(dispatcher, _row("sms", EMAIL))).added
    email.attempts = 2
    assert (await _fail(dispatcher, email)).added == []
    assert email.status == "failed"


async def test_whatsapp_falls_back_to_sms_on_the_same_phone_then_to_email(tmp_path: Path) -> None:
    """WhatsApp stands ahead of SMS: its fallback is SMS at the same phone, keeping SMS's own
    fallback (email), so an SMS that fails too still reaches the email address."""
    dispatcher = _dispatcher(tmp_path)
    whatsapp = _row("whatsapp", EMAIL, recipient=PHONE, attempts=0)
    (sms,) = (await _fail(dispatcher, whatsapp, permanent=True)).added
    assert (whatsapp.status, whatsapp.attempts) == ("failed", 1)
    assert (sms.channel, sms.recipient, sms.alternate, sms.fallback_of) == (
        "sms",
        PHONE,
        EMAIL,
        whatsapp.id,
    )
    sms.attempts = 2
    (email,) = (await _fail(dispatcher, sms)).added
    assert (email.channel, email.recipient, email.alternate) == ("email", EMAIL, None)
    # A phone-only contact: WhatsApp still falls back to SMS, which has nowhere further to go.
    lone = _row("whatsapp", None, recipient=PHONE, attempts=0)
    (sms_only,) = (await _fail(dispatcher, lone, permanent=True)).added
    assert (sms_only.channel, sms_only.alternate) == ("sms", None)


async def test_whatsapp_is_tried_its_own_number_of_times(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path)  # max_attempts=3, whatsapp_max_attempts=2 (default)
    row = _row("whatsapp", EMAIL, recipient=PHONE, attempts=0)
    assert (await _fail(dispatcher, row)).added == []
    assert (row.status, row.attempts) == ("queued", 1)
    (sms,) = (await _fail(dispatcher, row)).added
    assert (row.status, row.attempts, sms.channel) == ("failed", 2, "sms")


async def test_a_transient_failure_is_retried_on_the_same_channel(tmp_path: Path) -> None:
    row = _row("sms", EMAIL, attempts=0)
    assert (await _fail(_dispatcher(tmp_path), row)).added == []
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=2)
