"""At start-up notify refuses settings that name a channel, or a backend, its registry lacks."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from jejaring.notify.app import create_runtime
from jejaring.notify.channels import FileChannel, OffChannel, SmsGatewayChannel, SmtpChannel
from jejaring.notify.registry import CHANNELS, ChannelConfigError, ChannelRegistry, ChannelSpec
from jejaring.notify.settings import NotifySettings


class FaxSettings(NotifySettings):
    fax_channel: str = "file"


def test_the_default_settings_pass_and_build_file_senders(tmp_path: Path) -> None:
    settings = NotifySettings(data_dir=tmp_path)
    assert CHANNELS.problems(settings) == []
    senders = CHANNELS.build(settings)
    assert list(senders) == ["sms", "email", "whatsapp"]
    assert isinstance(senders.pop("whatsapp"), OffChannel)  # off unless configured
    for name, sender in senders.items():
        assert isinstance(sender, FileChannel)
        assert (sender.kind, sender.directory) == (name, tmp_path / "outbox")


def test_the_settings_pick_each_channel_s_backend(tmp_path: Path) -> None:
    settings = NotifySettings(
        data_dir=tmp_path,
        sms_channel="gateway",
        sms_gateway_url="http://127.0.0.1:9/send",
        email_channel="smtp",
    )
    senders = CHANNELS.build(settings)
    assert isinstance(senders["sms"], SmsGatewayChannel)
    assert isinstance(senders["email"], SmtpChannel)


def test_each_channel_setting_offers_exactly_the_registry_s_backends() -> None:
    for spec in CHANNELS:
        annotation = NotifySettings.model_fields[spec.setting].annotation
        assert set(get_args(annotation)) == set(spec.backends), spec.name


def test_a_setting_for_a_channel_the_registry_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ChannelConfigError,
        match=r"NOTIFY_FAX_CHANNEL configures a channel 'fax' that notify's channel registry "
        r"does not have \(it has: sms, email, whatsapp\)",
    ):
        CHANNELS.check(FaxSettings(data_dir=tmp_path))


def test_a_backend_the_channel_lacks_is_refused(tmp_path: Path) -> None:
    settings = NotifySettings(data_dir=tmp_path).model_copy(update={"email_channel": "pigeon"})
    with pytest.raises(
        ChannelConfigError,
        match=r"NOTIFY_EMAIL_CHANNEL=pigeon is not a backend of channel 'email' "
        r"\(it has: file, smtp\)",
    ):
        CHANNELS.build(settings)


def test_a_channel_with_no_setting_is_refused(tmp_path: Path) -> None:
    pager = ChannelSpec("pager", lambda c: c.phone, {"file": lambda s, n: FileChannel(tmp_path, n)})
    registry = ChannelRegistry([*CHANNELS, pager], default="sms", urgent="sms")
    with pytest.raises(
        ChannelConfigError, match="channel 'pager' has no setting NOTIFY_PAGER_CHANNEL"
    ):
        registry.check(NotifySettings(data_dir=tmp_path))


def test_a_channel_contacts_may_prefer_must_be_registered(tmp_path: Path) -> None:
    sms_only = ChannelSpec("sms", lambda c: c.phone, CHANNELS["sms"].backends)
    registry = ChannelRegistry([sms_only], default="sms", urgent="sms")
    assert registry.problems(NotifySettings(data_dir=tmp_path)) == [
        "NOTIFY_EMAIL_CHANNEL configures a channel 'email' that notify's channel registry "
        "does not have (it has: sms)",
        "NOTIFY_WHATSAPP_CHANNEL configures a channel 'whatsapp' that notify's channel "
        "registry does not have (it has: sms)",
        "a contact may prefer channel 'email', which notify's channel registry does not have "
        "(it has: sms)",
    ]


def test_notify_does_not_start_with_such_settings(tmp_path: Path) -> None:
    with pytest.raises(ChannelConfigError, match="NOTIFY_FAX_CHANNEL"):
        create_runtime(FaxSettings(data_dir=tmp_path))
