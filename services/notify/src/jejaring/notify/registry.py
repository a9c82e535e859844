"""Notify's channels: an open set, held here and nowhere else.

Each entry names a channel (the string `delivery.channel` stores), the contact field that
reaches it, the channel a delivery that failed on it falls back to, and how the settings build
its sender: the setting `<name>_channel` picks one of the entry's backends. The rest of notify
asks this registry: which channel an alert goes on (urgent ones on the registry's urgent
channel, others on the contact's preferred one, else the default, else the next in registry
order the contact can be reached on), where a failed delivery falls back to, and at start-up
whether the settings name only channels and backends it has.

A fallback to another address is one step: a planned delivery stores the fallback channel's
address (`delivery.alternate`), and the fallback delivery has no fallback of its own. A channel
may stand ahead of another at the same address (WhatsApp ahead of SMS, both on the phone): when
its backend is not "off", deliveries routed to the other one go to it first, keeping the other
one's alternate, and one that fails on it falls back to the other, which may then fall back as
it would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, get_args

from jejaring.notify.channels import (
    Channel,
    FileChannel,
    OffChannel,
    SmsGatewayChannel,
    SmtpChannel,
    WhatsAppCloudChannel,
)
from jejaring.notify.settings import Backend, NotifySettings
from jejaring.shared.contract import events as ev

# Builds a channel's sender from the settings; it is given the channel's name.
Builder = Callable[[NotifySettings, str], Channel]
SETTING_SUFFIX = "_channel"


class ChannelKind(StrEnum):
    """The channels notify has today; the values are what `delivery.channel` stores."""

    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"


class ChannelConfigError(ValueError):
    """The settings name a channel or a backend the registry does not have."""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel: its name, how a contact is reached on it, its fallback, its backends."""

    name: str  # what `delivery.channel` stores
    address: Callable[[ev.Contact], str | None]  # the contact's address on it, if any
    backends: Mapping[str, Builder]  # by the value of the setting `<name>_channel`
    fallback: str | None = None  # the channel a delivery that failed on this one goes to
    # The channel this one is tried ahead of, at the same address, when its backend is on; it
    # is also this one's fallback.
    ahead_of: str | None = None
    # How many times a delivery is tried on it before its fallback (a permanent failure: once).
    attempts: Callable[[NotifySettings], int] = lambda settings: settings.max_attempts

    def __post_init__(self) -> None:  # plain strings, whether given as ChannelKind or not
        object.__setattr__(self, "name", str(self.name))
        if self.ahead_of is not None:
            object.__setattr__(self, "ahead_of", str(self.ahead_of))
            object.__setattr__(self, "fallback", self.ahead_of)
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

    def route(
        self, contact: ev.Contact, *, urgent: bool, settings: NotifySettings | None = None
    ) -> Route | None:
        """Where an alert to `contact` goes, or None if it has no address on any channel.
        Urgent alerts go on the urgent channel when the contact can be reached on it. With
        `settings`, a channel switched on ahead of the chosen one takes the alert first."""
        first = self.urgent if urgent else (contact.preferred_channel or self.default)
        for name in (first, *(n for n in self._specs if n != first)):
            spec = self[name]
            address = spec.address(contact) if spec.ahead_of is None else None
            if address:
                alternate = spec.fallback and self[spec.fallback].address(contact)
                route = Route(name, address, alternate or None)
                return self._ahead(route, settings) if settings is not None else route
        return None

    def _ahead(self, route: Route, settings: NotifySettings) -> Route:
        for spec in self:
            if spec.ahead_of == route.channel and getattr(settings, spec.setting) != Backend.OFF:
                return route._replace(channel=spec.name)
        return route

    def fallback(self, channel: str) -> str | None:
        """The channel a delivery that failed on `channel` is tried on next."""
        return self[channel].fallback

    def fallback_route(self, channel: str, address: str, alternate: str | None) -> Route | None:
        """Where a delivery that failed for good on `channel` (to `address`, with the fallback
        address `alternate`) goes next, or None: from a channel ahead of another, to that one at
        the same address with the same alternate; otherwise one step to the alternate."""
        spec = self[channel]
        if spec.ahead_of is not None:
            return Route(spec.ahead_of, address, alternate)
        if spec.fallback is None or not alternate:
            return None
        return Route(spec.fallback, alternate, None)

    def max_attempts(self, channel: str, settings: NotifySettings) -> int:
        """How many times a delivery is tried on `channel` before its fallback."""
        return self[channel].attempts(settings)

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
        ChannelSpec(
            ChannelKind.WHATSAPP,
            lambda c: c.phone,
            {
                Backend.OFF: lambda _settings, name: OffChannel(name),
                Backend.CLOUD: _own(WhatsAppCloudChannel),
            },
            ahead_of=ChannelKind.SMS,
            attempts=lambda settings: settings.whatsapp_max_attempts,
        ),
    ),
    default=ChannelKind.SMS,
    urgent=ChannelKind.SMS,
)
