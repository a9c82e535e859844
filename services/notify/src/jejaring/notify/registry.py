"""Notify's channels: an open set, held here and nowhere else.

Each entry names a channel (the string `delivery.channel` stores), the contact field that
reaches it, the channel a delivery that failed on it falls back to, and how the settings build
its sender: the setting `<name>_channel` picks one of the entry's backends. The rest of notify
asks this registry: which channel an alert goes on (urgent ones on the registry's urgent
channel, others on the contact's preferred one, else the default, else the next in registry
order the contact can be reached on), where a failed delivery falls back to, and at start-up
whether the settings name only channels and backends it has.

A fallback is one step: a planned delivery stores the fallback channel's address
(`delivery.alternate`), and the fallback delivery has no fallback of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, get_args

from jejaring.notify.channels import Channel, FileChannel, SmsGatewayChannel, SmtpChannel
from jejaring.notify.settings import Backend, NotifySettings
from jejaring.shared.contract import events as ev

# Builds a channel's sender from the settings; it is given the channel's name.
Builder = Callable[[NotifySettings, str], Channel]
SETTING_SUFFIX = "_channel"


class ChannelKind(StrEnum):
    """The channels notify has today; the values are what `delivery.channel` stores."""

    SMS = "sms"
    EMAIL = "email"


class ChannelConfigError(ValueError):
    """The settings name a channel or a backend the registry does not have."""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel: its name, how a contact is reached on it, its fallback, its backends."""

    name: str  # what `delivery.channel` stores
    address: Callable[[ev.Contact], str | None]  # the contact's address on it, if any
    backends: Mapping[str, Builder]  # by the value of the setting `<name>_channel`
    fallback: str | None = None  # the channel a delivery that failed on this one goes to

    def __post_init__(self) -> None:  # plain strings, whether given as ChannelKind or not
        object.__setattr__(self, "name", str(self.name))
        if self.fallback is not None:
            object.__setattr__(self, "fallback", str(self.fallback))

    @property
    def setting(self) -> str:
        """The NotifySettings field that picks this channel's backend."""
        return self.name + SETTING_SUFFIX


class Route(NamedTuple):
    """Where one recipient's alert goes: the channel, its address, and the fallback channel's
    address (None if there is no fallback the contact can be reached on)."""

    channel: str
    address: str
    alternate: str | None


class ChannelRegistry:
    """The channels in their order (the order a contact's channels are tried in), with the
    default one (for a contact with no preference) and the urgent one."""

    def __init__(self, specs: Iterable[ChannelSpec], *, default: str, urgent: str) -> None:
        self._specs: dict[str, ChannelSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"channel {spec.name!r} is registered twice")
            self._specs[spec.name] = spec
        for spec in self._specs.values():
            if spec.fallback == spec.name or (
                spec.fallback is not None and spec.fallback not in self._specs
            ):
                raise ValueError(
                    f"channel {spec.name!r} falls back to {spec.fallback!r}, "
                    "which is not another registered channel"
                )
        for role, name in (("default", default), ("urgent", urgent)):
            if name not in self._specs:
                raise ValueError(f"the {role} channel {name!r} is not registered")
        self.default = str(default)
        self.urgent = str(urgent)

    def __getitem__(self, name: str) -> ChannelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"no channel {name!r} in the registry ({self._known()})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ChannelSpec]:
        return iter(self._specs.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def _known(self) -> str:
        return "it has: " + ", ".join(self._specs)

    def route(self, contact: ev.Contact, *, urgent: bool) -> Route | None:
        """Where an alert to `contact` goes, or None if it has no address on any channel.
        Urgent alerts go on the urgent channel when the contact can be reached on it."""
        first = self.urgent if urgent else (contact.preferred_channel or self.default)
        for name in (first, *(n for n in self._specs if n != first)):
            spec = self[name]
            address = spec.address(contact)
            if address:
                alternate = spec.fallback and self[spec.fallback].address(contact)
                return Route(name, address, alternate or None)
        return None

    def fallback(self, channel: str) -> str | None:
        """The channel a delivery that failed on `channel` is tried on next."""
        return self[channel].fallback

    def problems(self, settings: NotifySettings) -> list[str]:
        """What in the settings (and in the contacts the wire contract allows) names a channel
        or a backend this registry does not have."""
        fields = type(settings).model_fields
        prefix = str(type(settings).model_config.get("env_prefix", "")).upper()
        out = []
        for field in fields:
            name = field.removesuffix(SETTING_SUFFIX)
            if field.endswith(SETTING_SUFFIX) and name not in self._specs:
                out.append(
                    f"{prefix}{field.upper()} configures a channel {name!r} that notify's "
                    f"channel registry does not have ({self._known()})"
                )
        for spec in self:
            if spec.setting not in fields:
                out.append(
                    f"channel {spec.name!r} has no setting {prefix}{spec.setting.upper()} "
                    "to pick its backend"
                )
                continue
            backend = getattr(settings, spec.setting)
            if backend not in spec.backends:
                out.append(
                    f"{prefix}{spec.setting.upper()}={backend!s} is not a backend of channel "
                    f"{spec.name!r} (it has: {', '.join(spec.backends)})"
                )
        for name in get_args(ev.Channel):
            if name not in self._specs:
                out.append(
                    f"a contact may prefer channel {name!r}, which notify's channel registry "
                    f"does not have ({self._known()})"
                )
        return out

    def check(self, settings: NotifySettings) -> None:
        """At start-up: raise ChannelConfigError unless every channel the settings name, and
        every channel a contact may prefer, is registered with the backend the settings pick."""
        problems = self.problems(settings)
        if problems:
            raise ChannelConfigError("; ".join(problems))

    def build(self, settings: NotifySettings) -> dict[str, Channel]:
        """Each channel's sender, as the settings configure it."""
        self.check(settings)
        return {
            spec.name: spec.backends[getattr(settings, spec.setting)](settings, spec.name)
            for spec in self
        }


def _file(settings: NotifySettings, name: str) -> Channel:
    assert settings.outbox_dir is not None
    return FileChannel(settings.outbox_dir, name)


def _own(sender: Callable[[NotifySettings], Channel]) -> Builder:
    """A backend built from the settings alone (it serves one channel)."""
    return lambda settings, _name: sender(settings)


# The channels, in the order a contact's are tried; each entry: name, address, backends, fallback.
CHANNELS = ChannelRegistry(
    (
        ChannelSpec(
            ChannelKind.SMS,
            lambda c: c.phone,
            {Backend.FILE: _file, Backend.GATEWAY: _own(SmsGatewayChannel)},
            fallback=ChannelKind.EMAIL,
        ),
        ChannelSpec(
            ChannelKind.EMAIL,
            lambda c: c.email,
            {Backend.FILE: _file, Backend.SMTP: _own(SmtpChannel)},
            fallback=ChannelKind.SMS,
        ),
    ),
    default=ChannelKind.SMS,
    urgent=ChannelKind.SMS,
)
