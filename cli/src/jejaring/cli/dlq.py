"""`jejaring dlq`: list, inspect, replay and discard dead letters (docs/decisions.md, "The DLQ
tool and inbox pruning"), as the NATS operator identity (natsconfig.operator_permissions).

What it prints is what an operator may see: the DLQ's own headers (reason, service, consumer,
original subject, attempts), the CloudEvents attributes (id, type, source, time, subject) and
the case id in `ce-correlationid`: ids, never a body field. A value that came from outside
(a partner's junk) is printed only if it looks like what it should be (a Jejaring type, a
token without spaces), and quoted values in a reason are withheld.

A replay publishes the event again on its original subject with its original headers, under
a new `Nats-Msg-Id` (`<ce-id>:replay:<DLQ sequence>`: the original id would be dropped by the
stream's duplicate window within two hours; the same id each time the same dead letter is
replayed, so a replay retried after a lost acknowledgement is dropped instead). The dead letter
is deleted only once the stream acknowledged the publish. Every consumer of the stream sees the
replay: the ones that handled the event the first time skip it by its ce-id (their inbox), the
one that gave up on it handles it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import typer
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from jejaring.cli import natsconfig
from jejaring.cli.stack import StackConfig, StackError, connect_once
from jejaring.cli.tls import ca_file_option
from jejaring.shared.contract import subjects
from jejaring.shared.contract.envelope import NATS_MSG_ID
from jejaring.shared.messaging.consumer import (
    DLQ_BODY_DROPPED,
    DLQ_CONSUMER,
    DLQ_DELIVERIES,
    DLQ_REASON,
    DLQ_SERVICE,
    DLQ_SUBJECT,
)
from jejaring.shared.messaging.provision import DAY_S, DLQ_REPLAY_WINDOW_S

app = typer.Typer(
    help="Dead letters: list, inspect, replay after a fix, or discard with a reason.",
    no_args_is_help=True,
)

# Where discards are recorded: in the DLQ itself, under the operator's own subject (only the
# operator may publish or read there), kept as long as the dead letters are.
DISCARDED = subjects.dlq(natsconfig.OPERATOR, "discarded")
DISCARD_SEQ = "Jejaring-Discard-Seq"
DISCARD_BY = "Jejaring-Discard-By"
DISCARD_REASON = "Jejaring-Discard-Reason"
DISCARD_DEAD_LETTERED = "Jejaring-Discard-Dead-Lettered-At"
_DLQ_HEADERS = (
    DLQ_REASON,
    DLQ_SERVICE,
    DLQ_CONSUMER,
    DLQ_SUBJECT,
    DLQ_DELIVERIES,
    DLQ_BODY_DROPPED,
)

_TOKEN = re.compile(r"[\w.:/@+-]{1,100}")
_CE_TYPE = subjects.CE_TYPE_RE
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


class DlqError(Exception):
    """Something the operator must be told (exit 1): what, and what to do."""


def safe(value: str | None, pattern: re.Pattern[str] = _TOKEN) -> str:
    """`value` if it looks like an id, a time or a type; else how long it was."""
    if not value:
        return "-"
    return value if pattern.fullmatch(value) else f"(withheld: {len(value)} characters)"


def safe_reason(reason: str) -> str:
    """The reason with every quoted value withheld but an event type (the consumers quote
    header values a partner may have filled with anything)."""

    def withhold(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        return match.group(0) if _CE_TYPE.fullmatch(inner) else "'…'"

    return _QUOTED.sub(withhold, reason)


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    time: dt.datetime  # when the consumer gave up on it
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def ce_type(self) -> str:
        return safe(self.header("ce-type"), _CE_TYPE)

    @property
    def body_kept(self) -> bool:
        return DLQ_BODY_DROPPED not in self.headers

    @property
    def original_subject(self) -> str:
        return self.header(DLQ_SUBJECT) or "-"

    @property
    def replayable(self) -> bool:
        return self.body_kept and any(
            _matches(self.original_subject, wildcard) for wildcard in natsconfig.REPLAYABLE
        )

    def line(self) -> str:
        """One line of `jejaring dlq list`."""
        body = "kept" if self.body_kept else "dropped"
        return (
            f"{self.seq:>6}  {self.time:%Y-%m-%d %H:%M:%S}  {self.ce_type}  "
            f"{safe(self.header(DLQ_SERVICE))}/{safe(self.header(DLQ_CONSUMER))}  "
            f"attempts={safe(self.header(DLQ_DELIVERIES))}  body={body}  "
            f"{safe_reason(self.header(DLQ_REASON) or '-')}"
        )

    def details(self) -> list[str]:
        """`jejaring dlq show`: the fields an operator may see, no body field."""
        dropped = self.header(DLQ_BODY_DROPPED)
        return [
            f"DLQ sequence:      {self.seq}",
            f"dead-lettered at:  {self.time.isoformat()}",
            f"reason:            {safe_reason(self.header(DLQ_REASON) or '-')}",
            f"service/consumer:  {safe(self.header(DLQ_SERVICE))}/"
            f"{safe(self.header(DLQ_CONSUMER))}",
            f"attempts:          {safe(self.header(DLQ_DELIVERIES))}",
            f"original subject:  {safe(self.original_subject)}",
            f"event id:          {safe(self.header('ce-id'))}",
            f"event type:        {self.ce_type}",
            f"event source:      {safe(self.header('ce-source'))}",
            f"event time:        {safe(self.header('ce-time'))}",
            f"event subject:     {safe(self.header('ce-subject'))}",
            f"case id:           {safe(self.header('ce-correlationid'))}",
            f"body:              {len(self.body)} bytes, not shown"
            if dropped is None
            else f"body:              not kept ({safe(dropped)} bytes dropped: a partner's)",
            f"replayable:        {'yes' if self.replayable else 'no: ' + self.why_not()}",
        ]

    def why_not(self) -> str:
        if not self.body_kept:
            return (
                "its body was not kept (it came from a partner); ask the partner to send it "
                "again, then discard this dead letter"
            )
        return f"{safe(self.original_subject)} is not a subject the operator may replay on"

    def replay_headers(self) -> dict[str, str]:
        """The original headers, without the DLQ's, with a Nats-Msg-Id of this replay."""
        headers = {k: v for k, v in self.headers.items() if k not in _DLQ_HEADERS}
        headers[NATS_MSG_ID] = f"{self.header('ce-id') or 'no-ce-id'}:replay:{self.seq}"
        return headers


def _matches(subject: str, wildcard: str) -> bool:
    """NATS subject matching (`*` one token, `>` the rest)."""
    tokens, pattern = subject.split("."), wildcard.split(".")
    for i, part in enumerate(pattern):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(tokens) == len(pattern)


def _dead_letter(raw: RawStreamMsg) -> DeadLetter:
    return DeadLetter(
        seq=int(raw.seq or 0),
        subject=str(raw.subject),
        time=(raw.time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        headers=dict(raw.headers or {}),
        body=raw.data or b"",
    )


async def walk(js: JetStreamContext, subject: str = subjects.DLQ_ALL) -> AsyncIterator[DeadLetter]:
    """Every message of the DLQ on `subject`, oldest first (one request each: the DLQ is small,
    and the operator may read it by sequence only, not through a consumer)."""
    try:
        await js.stream_info(subjects.DLQ_STREAM)
    except NotFoundError:
        raise DlqError(
            "NATS has no DLQ stream: run the provisioner (`jejaring provision`)"
        ) from None
    seq = 1
    while True:
        try:
            raw = await js.get_msg(subjects.DLQ_STREAM, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return
        letter = _dead_letter(raw)
        yield letter
        seq = letter.seq + 1


def is_discard_record(letter: DeadLetter) -> bool:
    return letter.subject == DISCARDED


async def dead_letters(js: JetStreamContext, ce_type: str | None = None) -> list[DeadLetter]:
    """The dead letters (not the discard records), of `ce_type` if given."""
    return [
        letter
        async for letter in walk(js)
        if not is_discard_record(letter) and (ce_type is None or letter.ce_type == ce_type)
    ]


async def one(js: JetStreamContext, seq: int) -> DeadLetter:
    try:
        letter = _dead_letter(await js.get_msg(subjects.DLQ_STREAM, seq=seq))
    except NotFoundError:
        raise DlqError(f"no dead letter {seq} (see `jejaring dlq list`)") from None
    if is_discard_record(letter):
        raise DlqError(f"{seq} is a discard record, not a dead letter")
    return letter


async def replay(js: JetStreamContext, letter: DeadLetter) -> str:
    """Publish `letter` again on its original subject, then delete it from the DLQ."""
    if not letter.replayable:
        raise DlqError(f"dead letter {letter.seq} cannot be replayed: {letter.why_not()}")
    ack = await js.publish(
        letter.original_subject, letter.body, headers=letter.replay_headers(), timeout=10
    )
    await js.delete_msg(subjects.DLQ_STREAM, letter.seq)
    again = " (published by an earlier replay already)" if ack.duplicate else ""
    return (
        f"dead letter {letter.seq} replayed as {ack.stream} {ack.seq}{again}, removed from the DLQ"
    )


async def discard(js: JetStreamContext, letter: DeadLetter, *, by: str, reason: str) -> str:
    """Record the discard (who, when, why, which event: no body), then delete the letter."""
    headers = {
        DISCARD_SEQ: str(letter.seq),
        DISCARD_BY: by[:100],
        DISCARD_REASON: reason[:500],
        DISCARD_DEAD_LETTERED: letter.time.isoformat(),
        NATS_MSG_ID: f"discard:{letter.seq}",
        **{k: v for k, v in letter.headers.items() if k in _DLQ_HEADERS},
        **{k: letter.headers[k][:200] for k in ("ce-id", "ce-type") if k in letter.headers},
    }
    ack = await js.publish(DISCARDED, b"", headers=headers, timeout=10)
    await js.delete_msg(subjects.DLQ_STREAM, letter.seq)
    return f"dead letter {letter.seq} discarded; recorded as DLQ {ack.seq}"


def discard_line(record: DeadLetter) -> str:
    """One line of `jejaring dlq discarded`."""
    h = record.header
    return (
        f"{record.time:%Y-%m-%d %H:%M:%S}  by {safe(h(DISCARD_BY))}  "
        f"dead letter {safe(h(DISCARD_SEQ))}  {record.ce_type}  id {safe(h('ce-id'))}  "
        f"{safe(h(DLQ_SERVICE))}/{safe(h(DLQ_CONSUMER))}  reason: {h(DISCARD_REASON) or '-'}"
    )


# --- the commands -------------------------------------------------------------------------


@dataclass
class Target:
    url: str
    password: str
    ca_file: Path | None


_target: Target | None = None


@app.callback()
def options(
    nats_url: str | None = typer.Option(
        None,
        envvar="JEJARING_NATS_URL",
        help="NATS URL (default: the embedded stack's).",
    ),
    tls_ca_file: Path | None = ca_file_option(),
) -> None:
    """As the NATS operator identity: password NATS_OPERATOR_PASSWORD, or the embedded
    stack's (.data/nats-secrets.json, made by `jejaring up`)."""
    global _target
    try:
        config = StackConfig.from_env()
    except StackError as exc:
        _fail(str(exc), 2)
    password = config.nats_password(natsconfig.OPERATOR)
    if not password:
        _fail(f"set {natsconfig.password_env(natsconfig.OPERATOR)}", 2)
    _target = Target(nats_url or config.nats_url, password, tls_ca_file)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"jejaring dlq: {message}", err=True)
    raise typer.Exit(code)


def _run(work: Callable[[JetStreamContext], Awaitable[None]]) -> None:
    """Connect as the operator, run `work`, and turn what goes wrong into one line."""
    assert _target is not None
    target = _target

    async def main() -> None:
        nc = await connect_once(
            target.url, natsconfig.OPERATOR, target.password, ca_file=target.ca_file
        )
        try:
            await work(nc.jetstream(timeout=10))
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    except DlqError as exc:
        _fail(str(exc))
    except (NatsError, OSError, TimeoutError) as exc:
        _fail(f"{target.url}: {type(exc).__name__}: {str(exc)[:200]}")


@app.command("list")
def list_(
    ce_type: str | None = typer.Option(
        None, "--type", help="Only this CloudEvents type, e.g. org.jejaring.case.created.v1."
    ),
) -> None:
    """One line per dead letter: sequence, when the consumer gave up, type, service/consumer,
    attempts, whether the body was kept, reason. No personal data."""

    async def work(js: JetStreamContext) -> None:
        letters = await dead_letters(js, ce_type)
        for letter in letters:
            typer.echo(letter.line())
        typer.echo(f"{len(letters)} dead letters", err=True)

    _run(work)


@app.command()
def show(
    seq: int = typer.Argument(..., min=1, help="The DLQ sequence (`jejaring dlq list`)."),
) -> None:
    """The operator's view of one dead letter: headers and ids, never the body."""

    async def work(js: JetStreamContext) -> None:
        for line in (await one(js, seq)).details():
            typer.echo(line)

    _run(work)


@app.command("replay")
def replay_command(
    seq: int | None = typer.Argument(None, min=1, help="The DLQ sequence to replay."),
    ce_type: str | None = typer.Option(None, "--type", help="With --all: of this type."),
    all_: bool = typer.Option(False, "--all", help="Every dead letter of --type."),
) -> None:
    """Publish a dead letter again on its original subject (after the fix), then remove it.
    Consumers that handled it already skip it; the one that gave up handles it once."""
    if seq is not None and (all_ or ce_type):
        _fail("give either SEQ or --type T --all, not both", 2)
    if seq is None and not (all_ and ce_type):
        _fail("give SEQ, or --type T --all (every dead letter of one type)", 2)

    async def work(js: JetStreamContext) -> None:
        letters = [await one(js, seq)] if seq is not None else await dead_letters(js, ce_type)
        refused = 0
        for letter in letters:
            try:
                typer.echo(await replay(js, letter))
            except DlqError as exc:
                typer.echo(str(exc), err=True)
                refused += 1
        if refused:
            raise DlqError(f"{refused} of {len(letters)} dead letters not replayed (see above)")
        if not letters:
            typer.echo(f"no dead letter of type {ce_type}", err=True)

    _run(work)


@app.command("discard")
def discard_command(
    seq: int = typer.Argument(..., min=1, help="The DLQ sequence to discard."),
    reason: str = typer.Option(
        ..., help="Why, for the record (`jejaring dlq discarded`): no names, ids only."
    ),
    by: str = typer.Option(getpass.getuser, help="Who discards it (default: this user)."),
) -> None:
    """Remove a dead letter for good, recording who, when, why and which event (no body)."""
    if not reason.strip():
        _fail("--reason: say why (it is kept with the record of the discard)", 2)

    async def work(js: JetStreamContext) -> None:
        typer.echo(await discard(js, await one(js, seq), by=by, reason=reason.strip()))

    _run(work)


@app.command(
    "discarded",
    help="The record of discards, oldest first (kept as long as dead letters are: the "
    f"{DLQ_REPLAY_WINDOW_S / DAY_S:.0f}-day replay window).",
)
def discarded_command() -> None:
    async def work(js: JetStreamContext) -> None:
        async for record in walk(js, DISCARDED):
            typer.echo(discard_line(record))

    _run(work)
