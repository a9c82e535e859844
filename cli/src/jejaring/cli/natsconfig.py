"""NATS server authorization generated from one declaration and the partner registry
(docs/design.md §4, docs/decisions.md "NATS authorization: least privilege").

- Each service (a bcrypt-password user) may publish only its own subjects and dead letters, pull
  from and ack only its own durable consumers (the ConsumerSpecs it runs), read the INFO of the
  contract streams (configuration and counts, never a message) and receive on its own inbox
  prefix `_INBOX_<service>`. Referral may also create and update the partner streams AGENCY_*
  and their consumers, and read their messages by sequence (stream repair): allowed by wildcard
  with the fixed streams denied, because a wildcard matches whole tokens only. Report
  publishes no contract subject at all (only its own dead letters): it reads CASES and
  REFERRAL_EVENTS through its two durables.
- The provisioner creates and updates the contract streams and every service's consumers, once
  at start (`jejaring provision`). Nobody may delete or purge anything, nor read a message
  through the API, except referral on partner streams.
- The operator (`jejaring dlq`) may read the DLQ's messages by sequence and delete them, record
  its discards in the DLQ under its own name (`dlq.v1.operator.>`), and publish replays on the
  subjects whose dead letters keep their body (`REPLAYABLE`); it reads no other stream, runs
  no consumer, and receives on `_INBOX_operator` only.
- Each partner key (an NKey: the server holds only the public key) may consume only its own
  stream through its durable consumer, ack those messages, publish only its replies, and receive
  only on `_INBOX_<slug>`. A key past its expiry is left out, even if referral is unreachable.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from jejaring.shared.contract import subjects
from jejaring.shared.messaging.connection import inbox_prefix
from jejaring.shared.messaging.provision import ConsumerSpec, contract_streams
from jejaring.shared.web.tokens import new_token

SERVICES = ("intake", "referral", "notify", "report")
PROVISIONER = "provisioner"
OPERATOR = "operator"
IDENTITIES: Sequence[str] = (*SERVICES, PROVISIONER, OPERATOR)  # the users with passwords
FIXED_STREAMS = tuple(s.name for s in contract_streams())
_API = "$JS.API"

Permissions = dict[str, dict[str, Any]]  # publish, subscribe: allow/deny lists; allow_responses


@dataclass(frozen=True)
class ServiceIdentity:
    """What one service does on NATS: the subjects it publishes and the consumers it runs."""

    publishes: tuple[str, ...]
    consumers: tuple[ConsumerSpec, ...]
    manages_partner_streams: bool = False
    # Request-reply services it answers (subscribes, in a queue group, and responds to the
    # asker's inbox: `allow_responses`), and those it may ask (publishes a request).
    serves: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    # Deletes and makes again its own durables (and only those) to read its streams anew from
    # the first message (`ServiceRuntime.replay`: report's rebuild of its read model).
    replays: bool = False


@functools.cache
def declarations() -> dict[str, ServiceIdentity]:
    """Each service's identity; the consumers are the ConsumerSpecs the service itself runs."""
    from jejaring.intake.consumers import REFERRAL_EVENTS_CONSUMER as INTAKE_EVENTS
    from jejaring.notify.consumers import CASE_WORK_CONSUMER as NOTIFY_CASE_WORK
    from jejaring.notify.consumers import REFERRAL_EVENTS_CONSUMER as NOTIFY_EVENTS
    from jejaring.referral.consumers import CASES_CONSUMER, REPLIES_CONSUMER
    from jejaring.report.consumers import CASES_CONSUMER as REPORT_CASES
    from jejaring.report.consumers import REFERRAL_EVENTS_CONSUMER as REPORT_EVENTS
    from jejaring.shared.messaging.keys import KEYS_SUBJECT  # the keyring's key service

    return {
        "intake": ServiceIdentity((subjects.CASES_ALL,), (INTAKE_EVENTS,), serves=(KEYS_SUBJECT,)),
        "referral": ServiceIdentity(
            ("referral.v1.to.>", subjects.REFERRAL_EVENTS_ALL),
            (CASES_CONSUMER, REPLIES_CONSUMER),
            manages_partner_streams=True,
            asks=(KEYS_SUBJECT,),
        ),
        # notify opens a survivor's phone sealed in case.v1.feedback.requested (issue 20)
        "notify": ServiceIdentity((), (NOTIFY_EVENTS, NOTIFY_CASE_WORK), asks=(KEYS_SUBJECT,)),
        # report only reads: it publishes nothing and opens no sealed field (it holds none)
        "report": ServiceIdentity((), (REPORT_CASES, REPORT_EVENTS), replays=True),
    }


def service_consumers() -> list[ConsumerSpec]:
    """Every service's durable consumers, for the provisioner."""
    return [c for identity in declarations().values() for c in identity.consumers]


def service_user(service: str) -> str:
    return f"svc-{service}"


def partner_inbox(slug: str) -> str:
    return inbox_prefix(subjects.check_slug(slug))


def consumer_use(spec: ConsumerSpec) -> list[str]:
    """Pull from, ack and inspect one durable consumer."""
    return [
        f"{_API}.CONSUMER.INFO.{spec.stream}.{spec.durable}",
        f"{_API}.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}",
        f"$JS.ACK.{spec.stream}.{spec.durable}.>",
    ]


def consumer_remaking(spec: ConsumerSpec) -> list[str]:
    """The JetStream API subjects that delete one durable and make it again."""
    return [
        f"{_API}.CONSUMER.DELETE.{spec.stream}.{spec.durable}",
        f"{_API}.CONSUMER.CREATE.{spec.stream}.{spec.durable}",
        f"{_API}.CONSUMER.CREATE.{spec.stream}.{spec.durable}.>",
        f"{_API}.CONSUMER.DURABLE.CREATE.{spec.stream}.{spec.durable}",
    ]


def _partner_stream_management() -> tuple[list[str], list[str]]:
    """(allow, deny) for creating partner streams and their consumers: any stream but the
    fixed ones (a wildcard cannot say AGENCY_*)."""
    allow = [
        f"{_API}.STREAM.INFO.*",
        f"{_API}.STREAM.CREATE.*",
        f"{_API}.STREAM.UPDATE.*",
        f"{_API}.STREAM.MSG.GET.*",
        # a cancelled request the partner has not fetched is taken off its stream (retention)
        f"{_API}.STREAM.MSG.DELETE.*",
        f"{_API}.CONSUMER.INFO.*.*",
        f"{_API}.CONSUMER.CREATE.*.*",
        f"{_API}.CONSUMER.CREATE.*.*.>",
        f"{_API}.CONSUMER.DURABLE.CREATE.*.*",
    ]
    deny = []
    for stream in FIXED_STREAMS:
        deny += [
            f"{_API}.STREAM.CREATE.{stream}",
            f"{_API}.STREAM.UPDATE.{stream}",
            f"{_API}.STREAM.MSG.GET.{stream}",
            f"{_API}.STREAM.MSG.DELETE.{stream}",
            f"{_API}.CONSUMER.CREATE.{stream}.*",
            f"{_API}.CONSUMER.CREATE.{stream}.*.>",
            f"{_API}.CONSUMER.DURABLE.CREATE.{stream}.*",
        ]
    return allow, deny


def service_permissions(service: str) -> Permissions:
    identity = declarations()[service]
    allow = [*identity.publishes, *identity.asks, subjects.dlq(service, ">")]
    allow += [f"{_API}.STREAM.INFO.{stream}" for stream in FIXED_STREAMS]
    for spec in identity.consumers:
        allow += consumer_use(spec)
        if identity.replays:
            allow += consumer_remaking(spec)
    publish: dict[str, list[str]] = {"allow": allow}
    if identity.manages_partner_streams:
        extra, deny = _partner_stream_management()
        publish = {"allow": [*allow, *extra], "deny": deny}
    permissions: Permissions = {
        "publish": publish,
        "subscribe": {"allow": [f"{inbox_prefix(service)}.>", *identity.serves]},
    }
    if identity.serves:  # answering: a reply to whoever asked, once, within a minute
        permissions["allow_responses"] = {"max": 1, "expires": "1m"}
    return permissions


def provisioner_permissions() -> Permissions:
    """The JetStream API but deleting, purging and reading messages."""
    return {
        "publish": {
            "allow": [f"{_API}.>"],
            "deny": [
                f"{_API}.STREAM.DELETE.>",
                f"{_API}.STREAM.PURGE.>",
                f"{_API}.STREAM.MSG.>",
                f"{_API}.DIRECT.>",
                f"{_API}.CONSUMER.DELETE.>",
                f"{_API}.CONSUMER.MSG.>",
            ],
        },
        "subscribe": {"allow": [f"{inbox_prefix(PROVISIONER)}.>"]},
    }


# The subjects a dead letter may be replayed on: those of the streams the services consume whose
# dead letters keep their body. REPLIES is not among them: partners write it, so its dead
# letters are kept without their body (consumer.py, `outsiders`) and cannot be replayed.
REPLAYABLE = (subjects.CASES_ALL, subjects.REFERRAL_EVENTS_ALL)


def operator_permissions() -> Permissions:
    """Read and delete dead letters, record discards, replay on the original subjects."""
    dlq = subjects.DLQ_STREAM
    return {
        "publish": {
            "allow": [
                f"{_API}.STREAM.INFO.{dlq}",
                f"{_API}.STREAM.MSG.GET.{dlq}",
                f"{_API}.STREAM.MSG.DELETE.{dlq}",
                subjects.dlq(OPERATOR, ">"),
                *REPLAYABLE,
            ]
        },
        "subscribe": {"allow": [f"{inbox_prefix(OPERATOR)}.>"]},
    }


def partner_permissions(slug: str) -> Permissions:
    """Only its own stream, through its own consumer; only its own replies."""
    stream, consumer = subjects.agency_stream(slug), subjects.check_slug(slug)
    return {
        "publish": {
            "allow": [
                *consumer_use(ConsumerSpec(stream=stream, durable=consumer)),
                subjects.replies_of(slug),
            ]
        },
        "subscribe": {"allow": [f"{partner_inbox(slug)}.>"]},
    }


@dataclass(frozen=True)
class PartnerKey:
    """A partner's NKey public key as referral lists it (valid, of an active partner)."""

    slug: str
    public_key: str
    expires_at: dt.datetime

    @classmethod
    def from_json(cls, data: dict[str, str]) -> PartnerKey:
        return cls(data["slug"], data["public_key"], dt.datetime.fromisoformat(data["expires_at"]))

    def to_json(self) -> dict[str, str]:
        return {
            "slug": self.slug,
            "public_key": self.public_key,
            "expires_at": self.expires_at.isoformat(),
        }


# bcrypt's work factor slows down guessing a password from its hash. A password an operator
# gives (`jejaring nats-config` for compose) keeps the slow cost. The embedded stack's own are
# 256 random bits jejaring made: no guess finds them at any cost, so they take bcrypt's minimum,
# and neither `jejaring up` (six hashes before nats-server can start, 0.3 s of CPU each) nor
# nats-server (a check at every connection) pays for slowness that protects nothing.
GIVEN_ROUNDS = 11
GENERATED_ROUNDS = 4


@functools.cache
def bcrypt_hash(password: str, rounds: int = GIVEN_ROUNDS) -> str:
    """The hash the server configuration holds; computed once per password and process
    (the configuration is regenerated every few seconds)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def authorization(
    service_hashes: dict[str, str],
    partner_keys: Iterable[PartnerKey],
    *,
    now: dt.datetime | None = None,
) -> str:
    """The `authorization { users = [...] }` block (JSON values are valid NATS config).
    `service_hashes` holds the bcrypt hashes of every identity (services, provisioner,
    operator)."""
    now = now or dt.datetime.now(dt.UTC)
    users: list[dict[str, object]] = [
        {
            "user": service_user(s),
            "password": service_hashes[s],
            "permissions": service_permissions(s),
        }
        for s in SERVICES
    ]
    users += [
        {
            "user": service_user(name),
            "password": service_hashes[name],
            "permissions": permissions(),
        }
        for name, permissions in (
            (PROVISIONER, provisioner_permissions),
            (OPERATOR, operator_permissions),
        )
    ]
    users += [
        {"nkey": key.public_key, "permissions": partner_permissions(key.slug)}
        for key in sorted(partner_keys, key=lambda k: (k.slug, k.public_key))
        if key.expires_at > now
    ]
    lines = ",\n    ".join(json.dumps(u) for u in users)
    return f"authorization {{\n  users = [\n    {lines}\n  ]\n}}\n"


def service_secrets(path: Path) -> dict[str, str]:
    """Every identity's NATS password for the embedded stack, made once (file mode 0600); a
    file from before an identity existed (the provisioner, the operator) gains its password."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if set(IDENTITIES) <= set(stored):
        return stored
    secrets = {name: stored.get(name) or new_token() for name in IDENTITIES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(secrets, out)
    return secrets


def password_env(name: str) -> str:
    """The variable compose gives an identity's password in (NATS_INTAKE_PASSWORD, ...)."""
    return f"NATS_{name.upper()}_PASSWORD"


# --- keeping the server's configuration in step with referral -------------------------------


def fetch_partner_keys(referral_url: str, admin_token: str) -> list[PartnerKey]:
    """The valid keys of active partners, from the running referral service."""
    response = httpx.get(
        f"{referral_url}/api/v1/nats/partner-keys",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=5,
    )
    response.raise_for_status()
    return [PartnerKey.from_json(k) for k in response.json()]


def write_private(path: Path, text: str) -> None:
    """Replace `path` at once (the server never reads half a file), owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


@dataclass
class AuthSync:
    """Regenerates a NATS configuration file from referral's list of partner keys and reloads
    the server only when the content changed. When referral is unreachable the last list
    fetched is used, so a key still leaves the configuration when it expires."""

    out: Path
    render: Callable[[list[PartnerKey]], str]
    referral_url: str
    admin_token: str
    cache: Path
    reload: Callable[[], bool]

    def cached(self) -> list[PartnerKey]:
        if not self.cache.exists():
            return []
        return [PartnerKey.from_json(k) for k in json.loads(self.cache.read_text())]

    def refresh(self) -> list[PartnerKey]:
        """Fetch the keys from referral into the cache (raises httpx.HTTPError)."""
        keys = fetch_partner_keys(self.referral_url, self.admin_token)
        write_private(self.cache, json.dumps([k.to_json() for k in keys]))
        return keys

    def once(self) -> tuple[bool, str | None]:
        """One round: (whether the server was given a new configuration, why referral's list
        could not be fetched, if it could not)."""
        problem = None
        try:
            keys = self.refresh()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            keys, problem = self.cached(), f"{type(exc).__name__}: {str(exc)[:120]}"
        text = self.render(keys)
        if self.out.exists() and self.out.read_text() == text:
            return False, problem
        write_private(self.out, text)
        self.reload()
        return True, problem
