#!/usr/bin/env python3
"""A partner's client for Jejaring, in plain nats-py (no Jejaring code needed).

What a partner agency's developer needs to know, all of it used below:
- You connect with the NKey seed file Jejaring's operator gave you (`jejaring partner
  credentials` makes it; pip install nats-py nkeys). Keep it secret: it is your identity, and
  Jejaring keeps no copy. Your replies and fetched messages come to your own inbox prefix
  _INBOX_<slug>; you may not listen anywhere else.
- Jejaring's NATS speaks TLS only, under a certificate of the site's own CA: trust the CA file
  given to you with the seed (jejaring-ca.pem, --ca-file) and connect to tls://<host>:4222. The
  client starts with the TLS handshake, so your key never meets a server that is not the one
  that CA vouches for.
- Referrals for partner <slug> arrive on its own JetStream stream AGENCY_<SLUG> (slug
  upper-cased, '-' as '_'), read through the durable pull consumer named <slug>. Ack each one.
- Messages are CloudEvents 1.0 in binary mode: the attributes are NATS headers (ce-type,
  ce-id, ...), the body is JSON. ce-type org.jejaring.referral.requested.v1 is a new referral;
  ...cancelled.v1 withdraws one; ...updated.v1 changes one. The full schemas: GET /docs/asyncapi
  on the referral service, and docs/schemas/ in the repository.
- Answer by publishing to referral.v1.from.<slug>.<status> (accepted, rejected, in-progress,
  on-hold, completed, failed; a reason for rejected and failed), ce-type
  org.jejaring.referral.reply.v1, with Nats-Msg-Id equal to ce-id so a retry is not doubled.

    python examples/partner_client.py --nats-url tls://nats.example.org:4222 \
        --slug posbakum-aisyiyah --seed-file posbakum-aisyiyah-20261201-101500.nk \
        --ca-file jejaring-ca.pem --accept
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import ssl
import sys
import uuid

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import APIError

REQUESTED = "org.jejaring.referral.requested.v1"
REPLY = "org.jejaring.referral.reply.v1"


def stream_of(slug: str) -> str:
    return "AGENCY_" + slug.upper().replace("-", "_")


def cloudevent_headers(slug: str, ce_type: str, subject: str) -> dict[str, str]:
    ce_id = str(uuid.uuid4())
    return {
        "ce-specversion": "1.0",
        "ce-id": ce_id,
        "ce-source": f"/partners/{slug}",
        "ce-type": ce_type,
        "ce-time": dt.datetime.now(dt.UTC).isoformat(),
        "ce-subject": subject,
        "ce-datacontenttype": "application/json",
        "content-type": "application/json",
        "Nats-Msg-Id": ce_id,  # JetStream drops a repeated publish with the same id
    }


async def answer(js, slug: str, referral_id: str, status: str, by: str) -> None:  # type: ignore[no-untyped-def]
    reply = {
        "referral_id": referral_id,
        "partner_slug": slug,
        "status": status,
        "replied_at": dt.datetime.now(dt.UTC).isoformat(),
        "by": by,
    }
    await js.publish(
        f"referral.v1.from.{slug}.{status}",
        json.dumps(reply).encode(),
        headers=cloudevent_headers(slug, REPLY, referral_id),
    )


async def run(args: argparse.Namespace) -> int:
    violations: list[str] = []

    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc) or type(exc).__name__)
        if "permissions violation" in str(exc).lower():
            violations.append(str(exc))

    # A partner's replies come to its own inbox prefix; it may not listen anywhere else.
    inbox = args.inbox_prefix or (f"_INBOX_{args.slug}" if args.seed_file else "_INBOX")
    # TLS trusting only the site's CA, handshake first: nothing is said in plaintext.
    tls = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    try:
        nc = await nats.connect(
            args.nats_url,
            tls=tls,
            tls_handshake_first=tls is not None,
            nkeys_seed=args.seed_file,
            name=f"partner-{args.slug}",
            inbox_prefix=inbox,
            error_cb=on_error,
            allow_reconnect=False,
        )
    except Exception as exc:  # wrong credentials, server down, ...
        print(
            f"could not connect to {args.nats_url}: {errors[-1] if errors else exc}",
            file=sys.stderr,
        )
        return 1
    js = nc.jetstream()
    try:
        sub = await js.pull_subscribe_bind(durable=args.slug, stream=stream_of(args.slug))
    except APIError as exc:
        print(
            f"cannot read {stream_of(args.slug)} with this key: {exc.description or exc}",
            file=sys.stderr,
        )
        await nc.close()
        return 1
    print(f"listening on {stream_of(args.slug)} (consumer {args.slug}); Ctrl-C to stop", flush=True)
    handled, idle = 0, 0.0
    try:
        while args.count == 0 or handled < args.count:
            try:
                msgs = await sub.fetch(10, timeout=1)
            except NatsTimeout:
                if violations:
                    print(
                        f"not authorised to read {stream_of(args.slug)} with these credentials "
                        f"({violations[0]})",
                        file=sys.stderr,
                    )
                    return 1
                idle += 1
                if args.idle_exit and idle >= args.idle_exit:
                    break
                continue
            except APIError as exc:  # e.g. not authorised to use this consumer
                print(
                    f"cannot read {stream_of(args.slug)}: {exc.description or exc}", file=sys.stderr
                )
                return 1
            idle = 0
            for msg in msgs:
                headers = msg.headers or {}
                data = json.loads(msg.data)
                print(
                    f"{headers.get('ce-type')} {data.get('case_reference')} referral={data.get('referral_id')}"
                    f" service={data.get('service', '-')} priority={data.get('priority', '-')}"
                    f" accept_by={data.get('accept_by', '-')}",
                    flush=True,
                )
                if headers.get("ce-type") == REQUESTED and args.accept:
                    await answer(js, args.slug, data["referral_id"], "accepted", args.by)
                    print(f"  -> accepted {data['referral_id']}", flush=True)
                await msg.ack_sync()
                handled += 1
    finally:
        await nc.close()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--slug", required=True, help="your partner slug, e.g. posbakum-aisyiyah")
    parser.add_argument(
        "--seed-file", help="your NKey seed file (from `jejaring partner credentials`)"
    )
    parser.add_argument(
        "--ca-file", help="the CA certificate to trust (jejaring-ca.pem, given with the seed)"
    )
    parser.add_argument("--inbox-prefix", help="default _INBOX_<slug> when --seed-file is given")
    parser.add_argument("--accept", action="store_true", help="accept every new referral")
    parser.add_argument("--by", default="partner client", help="who answers, shown to the officer")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many messages (0: never)"
    )
    parser.add_argument(
        "--idle-exit", type=float, default=0, help="stop after this many idle seconds"
    )
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
