"""The survivor's feedback after close: one SMS, a one-word reply 1-5 (issue 20).

Intake asks (`case.v1.feedback.requested`, her phone sealed with the case's data key, fetched
from intake's key service before the consumer's transaction). Notify queues one SMS, whatever
her preferred channel (a WhatsApp template or an email would be another trace on her phone or
in her mailbox), after the survivors' quiet hours (settings), and keeps a request waiting for
her reply: her phone only as a keyed hash (HMAC with notify's feedback key), never the phone.
The delivery row holds her phone sealed with that key until it is sent, and nothing of it after
(service.py clears it), so no row of notify's database holds her number in plain.

Her reply (the SMS gateway posts it, feedback_api.py) counts when it is one digit 1-5 ("4",
" 4 ", "4."), from a phone with a request waiting: the score is kept with the partners it is
about and the local date, no phone and no case; the request is deleted, so a second reply
counts for nothing. Nothing is answered back by SMS: another message to her phone is another
risk if someone else reads it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.notify import render
from jejaring.notify.channels import international
from jejaring.notify.models import (
    Delivery,
    DeliveryStatus,
    Feedback,
    FeedbackRequest,
    RecipientRole,
)
from jejaring.notify.registry import ChannelKind
from jejaring.notify.settings import NotifySettings
from jejaring.shared import crypto
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.envelope import Envelope
from jejaring.shared.messaging.casekeys import CaseKeys
from jejaring.shared.messaging.consumer import PoisonMessage, Prepare
from jejaring.shared.tracing import current_context

log = logging.getLogger(__name__)

TEMPLATE = "feedback_request"  # the delivery's trigger and its text's template
KEY_FILE = "notify-feedback-key"  # in data_dir, when NOTIFY_FEEDBACK_KEY is not set
RECIPIENT_NAME = "Penyintas"  # what the delivery log says she is; never her name
_SEALED_PHONE = "notify.feedback.recipient"
# One digit 1-5, alone but for spaces and a final full stop or exclamation mark.
_SCORE = re.compile(r"\s*([1-5])\s*[.!]?\s*")


@dataclass(frozen=True)
class FeedbackKeys:
    """Two keys derived from notify's feedback key: one hashes phones, one seals them."""

    hashing: bytes
    sealing: bytes


@functools.cache
def _derived(material: bytes) -> FeedbackKeys:
    def derive(use: bytes) -> bytes:
        return hmac.new(material, b"jejaring feedback " + use, hashlib.sha256).digest()

    return FeedbackKeys(derive(b"phone-hash"), derive(b"recipient-seal"))


def keys_of(settings: NotifySettings) -> FeedbackKeys:
    """The keys of NOTIFY_FEEDBACK_KEY, or of a key made once in data_dir."""
    if settings.feedback_key is not None:
        return _derived(settings.feedback_key.get_secret_value().encode())
    file = crypto.ensure_key_file(settings.data_dir / KEY_FILE)
    (_, material), *_ = crypto.MasterKeys.load(value=None, file=file, setting=KEY_FILE).keys
    return _derived(material)


def phone_hash(phone: str, settings: NotifySettings) -> str:
    """The keyed hash a phone is kept as: the same for '0812…', '+62 812…' and '62812…'."""
    number = international(phone, settings.whatsapp_country_code).encode()
    return hmac.new(keys_of(settings).hashing, number, hashlib.sha256).hexdigest()


def address(row: Delivery, settings: NotifySettings) -> str:
    """Where a delivery goes: a survivor's phone is opened from its seal just before sending."""
    if row.recipient_role != RecipientRole.SURVIVOR:
        return row.recipient
    opened = crypto.unseal(
        keys_of(settings).sealing, row.recipient, associated=crypto.aad(row.id, _SEALED_PHONE)
    )
    return opened.decode()


def prepare(keys: CaseKeys) -> Prepare:
    """The case-work consumer's step before its transaction: the case's key, to open the
    phone of a feedback request (KeysUnavailable, transient, when intake does not answer)."""

    async def fetch(envelope: Envelope) -> None:
        if isinstance(envelope.data, ev.CaseFeedbackRequested):
            await keys.fetch(envelope.data.case_id)

    return fetch


async def _forget_expired(session: AsyncSession, now: dt.datetime) -> None:
    await session.execute(delete(FeedbackRequest).where(FeedbackRequest.expires_at <= now))


async def plan(
    session: AsyncSession,
    *,
    asked: ev.CaseFeedbackRequested,
    settings: NotifySettings,
    now: dt.datetime,
    key: bytes | None = None,
) -> bool:
    """Queue the one feedback SMS of a case, with its request waiting for the reply; True when
    it was queued. Nothing for an erased case (`key` None), nor for a case asked before."""
    if key is None:
        log.info("feedback not asked: the case's key is gone (erased)")
        return False
    event_id = f"feedback:{asked.case_id}"  # one per case, whatever redelivers the event
    if await session.scalar(select(Delivery.id).where(Delivery.event_id == event_id)):
        return False
    try:
        phone = crypto.unseal(
            key, asked.phone_sealed, associated=crypto.aad(asked.case_id, asked.PHONE_PURPOSE)
        ).decode()
    except crypto.Unreadable:
        raise PoisonMessage("phone_sealed does not open with the case's key") from None
    await _forget_expired(session, now)
    session.add(
        FeedbackRequest(
            case_id=asked.case_id,
            phone_hash=phone_hash(phone, settings),
            partner_slugs=list(asked.partner_slugs),
            asked_at=now,
            expires_at=now + dt.timedelta(days=settings.feedback_days),
        )
    )
    subject, text = render.render(TEMPLATE, {}, settings.language)
    row_id = uuid.uuid4()
    session.add(
        Delivery(
            id=row_id,
            event_id=event_id,
            trigger=TEMPLATE,
            case_reference=asked.reference,
            kelurahan_code=asked.kelurahan_code,
            recipient_name=RECIPIENT_NAME,
            recipient_role=RecipientRole.SURVIVOR,
            recipient=crypto.seal(
                keys_of(settings).sealing,
                phone.encode(),
                associated=crypto.aad(row_id, _SEALED_PHONE),
            ),
            channel=ChannelKind.SMS,
            urgent=False,
            quiet_start=settings.feedback_quiet_start,
            quiet_end=settings.feedback_quiet_end,
            subject=subject,
            body=text,
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            traceparent=current_context().get("traceparent"),
        )
    )
    await session.flush()
    log.info("feedback asked", extra={"case": asked.reference})
    return True


async def forget_case(session: AsyncSession, erased: ev.CaseErased) -> None:
    """An erased case asks nothing any more: its request waiting for a reply is deleted, and
    its SMS, if still queued (her quiet hours, a retry), is not sent and her phone not kept."""
    await session.execute(delete(FeedbackRequest).where(FeedbackRequest.case_id == erased.case_id))
    await session.execute(
        update(Delivery)
        .where(
            Delivery.event_id == f"feedback:{erased.case_id}",
            Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)),
        )
        .values(status=DeliveryStatus.FAILED, recipient="", last_error="case erased")
    )


def score_of(text: str) -> int | None:
    """The score a reply gives (1-5), or None for anything else."""
    found = _SCORE.fullmatch(text)
    return int(found.group(1)) if found else None


async def receive(
    session: AsyncSession, *, sender: str, text: str, settings: NotifySettings, now: dt.datetime
) -> bool:
    """An SMS that came in: True when it was a survivor's first answer, now recorded."""
    await _forget_expired(session, now)
    score = score_of(text)
    if score is None:
        return False
    request = await session.scalar(
        select(FeedbackRequest)
        .where(FeedbackRequest.phone_hash == phone_hash(sender, settings))
        .order_by(FeedbackRequest.asked_at.desc())
        .limit(1)
    )
    if request is None:
        return False
    taken = await session.execute(
        delete(FeedbackRequest).where(FeedbackRequest.case_id == request.case_id)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]  # another reply took it just now
        return False
    session.add(
        Feedback(
            id=uuid.uuid4(),
            score=score,
            partner_slugs=list(request.partner_slugs),
            received_on=now.astimezone(render.WITA).date(),
        )
    )
    log.info("feedback received")
    return True


SMALL = 3  # fewer scores than this are shown as "<3" to anyone but the coordinator


@dataclass(frozen=True)
class PartnerScores:
    partner_slug: str
    count: int | str  # a number, or "<3"
    mean: float | None


def summarise(rows: Iterable[Feedback], *, exact: bool) -> list[PartnerScores]:
    """Each partner's count and mean score; unless `exact`, a count under SMALL is "<3" with
    no mean (a mean of one or two answers tells what someone answered)."""
    scores: dict[str, list[int]] = {}
    for row in rows:
        for slug in row.partner_slugs:
            scores.setdefault(slug, []).append(row.score)
    out = []
    for slug, given in sorted(scores.items()):
        if exact or len(given) >= SMALL:
            out.append(PartnerScores(slug, len(given), round(sum(given) / len(given), 2)))
        else:
            out.append(PartnerScores(slug, f"<{SMALL}", None))
    return out


async def summary(session: AsyncSession, *, exact: bool) -> list[PartnerScores]:
    """The survivors' scores per partner (see `summarise`)."""
    return summarise((await session.scalars(select(Feedback))).all(), exact=exact)
