"""NATS server authorization generated from the partner registry (docs/design.md §4).

Each service has a user allowed only what it does; each partner has a user that can consume
only its own stream AGENCY_<SLUG> through its durable consumer, ack those messages, and publish
only its replies `referral.v1.from.<slug>.>`. JetStream API subjects are listed one by one:
subject permissions alone do not gate JetStream consumption. A partner's replies (fetched
messages, PubAcks) come to its own inbox prefix `_INBOX_<slug>`, so no one can read another's.
Passwords appear in the configuration only as bcrypt hashes.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import bcrypt

from jejaring.shared.contract import subjects
from jejaring.shared.web.tokens import new_token

SERVICES = ("intake", "referral", "notify")

# What each service publishes besides JetStream's API (provisioning, pulls) and its acks.
_SERVICE_PUBLISH: dict[str, list[str]] = {
    "intake": [
        subjects.CASES_ALL,
        "dlq.v1.intake.>",
        f"$JS.ACK.{subjects.REFERRAL_EVENTS_STREAM}.>",
    ],
    "referral": [
        "referral.v1.to.>",
        subjects.REFERRAL_EVENTS_ALL,
        "dlq.v1.referral.>",
        f"$JS.ACK.{subjects.CASES_STREAM}.>",
        f"$JS.ACK.{subjects.REPLIES_STREAM}.>",
    ],
    "notify": ["dlq.v1.notify.>", f"$JS.ACK.{subjects.REFERRAL_EVENTS_STREAM}.>"],
}


def service_user(service: str) -> str:
    return f"svc-{service}"


def partner_user(slug: str) -> str:
    return f"partner-{subjects.check_slug(slug)}"


def partner_inbox(slug: str) -> str:
    return f"_INBOX_{subjects.check_slug(slug)}"


def service_permissions(service: str) -> dict[str, dict[str, list[str]]]:
    return {
        "publish": {"allow": [*_SERVICE_PUBLISH[service], "$JS.API.>"]},
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def partner_permissions(slug: str) -> dict[str, dict[str, list[str]]]:
    """Only its own stream, through its own consumer; only its own replies."""
    stream, consumer = subjects.agency_stream(slug), subjects.check_slug(slug)
    return {
        "publish": {
            "allow": [
                f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
                f"$JS.ACK.{stream}.{consumer}.>",
                subjects.replies_of(slug),
            ]
        },
        "subscribe": {"allow": [f"{partner_inbox(slug)}.>"]},
    }


@functools.cache
def bcrypt_hash(password: str) -> str:
    """The hash the server configuration holds; computed once per password and process
    (bcrypt is slow on purpose, and the stack writes its configuration twice at start)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(11)).decode()


def authorization(service_hashes: dict[str, str], partner_hashes: list[tuple[str, str]]) -> str:
    """The `authorization { users = [...] }` block (JSON values are valid NATS config)."""
    users = [
        {
            "user": service_user(s),
            "password": service_hashes[s],
            "permissions": service_permissions(s),
        }
        for s in SERVICES
    ]
    users += [
        {"user": partner_user(slug), "password": hashed, "permissions": partner_permissions(slug)}
        for slug, hashed in partner_hashes
    ]
    lines = ",\n    ".join(json.dumps(u) for u in users)
    return f"authorization {{\n  users = [\n    {lines}\n  ]\n}}\n"


def service_secrets(path: Path) -> dict[str, str]:
    """The services' NATS passwords for the embedded stack, made once (file mode 0600)."""
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        if set(SERVICES) <= set(stored):
            return stored
    secrets = {s: new_token() for s in SERVICES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(secrets, out)
    return secrets
