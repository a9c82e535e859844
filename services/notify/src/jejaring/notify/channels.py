"""The senders behind one small protocol: a file (the embedded default), SMTP email, an HTTP SMS
gateway configurable to fit common Indonesian providers (a JSON or a form-encoded body), and
WhatsApp's Business Cloud API (approved template messages only). Which channel uses which is
the channel registry's business (registry.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import aiosmtplib
import httpx

from jejaring.notify.settings import NotifySettings

log = logging.getLogger(__name__)


def international(phone: str, country_code: str) -> str:
    """A phone number as digits with the country code (a national leading 0 replaced):
    '0812-3456' and '+62 812 3456' are both '628123456'."""
    digits = re.sub(r"\D", "", phone)
    if not phone.strip().startswith("+") and digits.startswith("0"):
        digits = country_code + digits[1:]
    return digits


class SendError(Exception):
    """A failed send; `permanent` ones are not retried on the same channel."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class TemplateMessage:
    """A message as an approved template: the alert kind and its parameters, in order
    (render.template_parameters: allow-listed values only)."""

    kind: str
    parameters: tuple[str, ...]


class Channel(Protocol):
    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        """Send one message (`text`, or `template` on a channel that sends templates only);
        return the provider's message id, or raise SendError."""
        ...


class OffChannel:
    """A channel switched off: a delivery planned on it before fails at once, to its fallback."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        raise SendError(f"{self.kind} channel is off", permanent=True)


class FileChannel:
    """Writes each message as a JSON file under a directory (one file per message)."""

    def __init__(self, directory: Path, kind: str) -> None:
        self.directory = directory
        self.kind = kind

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        now = dt.datetime.now(dt.UTC)
        message_id = f"{now:%Y%m%dT%H%M%S%f}-{self.kind}-{uuid.uuid4().hex[:8]}"
        body = {
            "channel": self.kind,
            "to": to,
            "subject": subject,
            "text": text,
            "at": now.isoformat(),
        }
        # Creating a file waits on the disk: off the event loop, so consuming and claiming go on.
        path = await asyncio.to_thread(self._write, message_id, body)
        log.info("message written", extra={"channel": self.kind, "file": path.name})
        return message_id

    def _write(self, message_id: str, body: dict[str, str]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.rename(path)  # readers never see a half-written message
        return path


class SmtpChannel:
    """Email over SMTP: STARTTLS or implicit TLS with the certificate verified (plaintext only
    when NOTIFY_SMTP_SECURITY=none), login optional."""

    def __init__(self, settings: NotifySettings) -> None:
        self.s = settings
        self.tls_context: ssl.SSLContext | None = None
        if settings.smtp_security != "none":
            ca = settings.smtp_ca_file
            self.tls_context = ssl.create_default_context(cafile=str(ca) if ca else None)

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        s = self.s
        message = EmailMessage()
        try:
            message["From"] = s.smtp_from
            message["To"] = to
            message["Subject"] = subject
            message["Message-ID"] = make_msgid(domain="jejaring")
            message.set_content(text)
        except (ValueError, TypeError) as exc:
            # A header no email may carry (a line break in an address or the subject): sending
            # again would fail again, so it is a permanent failure, never a retry loop.
            raise SendError(f"message not sendable: {type(exc).__name__}", permanent=True) from None
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                # True, not aiosmtplib's default None ("if offered"): a server, or anyone in
                # between, that offers no STARTTLS gets nothing rather than plaintext.
                start_tls=s.smtp_security == "starttls",
                use_tls=s.smtp_security == "tls",
                tls_context=self.tls_context,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from None
        except aiosmtplib.SMTPException as exc:
            if "STARTTLS extension not supported" in str(exc):
                raise SendError("SMTP server offers no STARTTLS; not sent in plaintext") from None
            raise SendError(f"SMTP unreachable: {type(exc).__name__}") from None
        except ssl.SSLError as exc:
            raise SendError(f"SMTP TLS failed: {exc.reason or type(exc).__name__}") from None
        except (OSError, TimeoutError) as exc:
            raise SendError(f"SMTP unreachable: {type(exc).__name__}") from None
        return str(message["Message-ID"])


class SmsGatewayChannel:
    """SMS through an HTTP gateway: URL, auth header, body (a JSON template with {to} and
    {text}, or form fields), success check and message-id field all come from settings."""

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        self.client = client or httpx.AsyncClient(timeout=settings.sms_gateway_timeout_s)

    def _body(self, to: str, text: str) -> str:
        def escaped(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)[1:-1]

        return self.s.sms_gateway_body_template.replace("{to}", escaped(to)).replace(
            "{text}", escaped(text)
        )

    def _form(self, to: str, text: str) -> str:
        s = self.s
        extra = s.sms_gateway_form_extra.get_secret_value() if s.sms_gateway_form_extra else ""
        fields = parse_qsl(extra, strict_parsing=True) if extra else []
        fields += [(s.sms_gateway_form_to_field, to), (s.sms_gateway_form_text_field, text)]
        return urlencode(fields)

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        s = self.s
        assert s.sms_gateway_url is not None
        if s.sms_gateway_body_format == "form":
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            body = self._form(to, text)
        else:
            headers = {"Content-Type": "application/json"}
            body = self._body(to, text)
        if s.sms_gateway_auth_header:
            name, _, value = s.sms_gateway_auth_header.get_secret_value().partition(":")
            headers[name.strip()] = value.strip()
        try:
            response = await self.client.post(s.sms_gateway_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise SendError(f"SMS gateway {response.status_code}")
        if response.status_code >= 400:
            raise SendError(f"SMS gateway refused: {response.status_code}", permanent=True)
        if s.sms_gateway_success_contains and s.sms_gateway_success_contains not in response.text:
            raise SendError("SMS gateway answered without the success marker")
        provider_id = ""
        if s.sms_gateway_message_id_field:
            try:
                provider_id = str(response.json().get(s.sms_gateway_message_id_field, ""))
            except (ValueError, AttributeError):
                provider_id = ""
        return provider_id or f"http-{response.status_code}"


# Cloud API error codes (the `code` of its error answer) worth trying again: throttling and
# Meta's own temporary failures. Any other 4xx is permanent (the template, the token, the
# recipient): it falls back to SMS at once. Each is named in the delivery log by this table
# rather than by Meta's message, which is kept out of logs.
WHATSAPP_TRANSIENT = {
    1: "API unknown",
    2: "API service unavailable",
    4: "application rate limit",
    80007: "account rate limit",
    130429: "throughput rate limit",
    131000: "something went wrong",
    131048: "spam rate limit",
    131056: "pair rate limit",
    133004: "server temporarily unavailable",
}
WHATSAPP_PERMANENT = {
    0: "authentication failed",
    3: "capability or permission missing",
    10: "permission denied",
    100: "invalid parameter",
    190: "access token expired",
    131026: "message undeliverable",
    131030: "recipient not in the allowed list",
    131031: "account locked",
    131047: "re-engagement window closed",
    131051: "unsupported message type",
    132000: "template parameter count mismatch",
    132001: "template does not exist in this language",
    132005: "template text too long",
    132007: "template format policy violated",
    132012: "template parameter format mismatch",
    132015: "template paused",
    132016: "template disabled",
    368: "temporarily blocked for policy violations",
}


class WhatsAppCloudChannel:
    """Approved template messages through the WhatsApp Business Cloud API
    (POST {base}/{version}/{phone number id}/messages, a Bearer token). Never free text: a
    delivery without template parameters fails at once, and falls back to SMS."""

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        base = settings.whatsapp_base_url.rstrip("/")
        self.url = (
            f"{base}/{settings.whatsapp_api_version}/{settings.whatsapp_phone_number_id}/messages"
        )
        self.client = client or httpx.AsyncClient(timeout=settings.whatsapp_timeout_s)

    def recipient(self, phone: str) -> str:
        """The phone in WhatsApp's form: digits with the country code (a leading 0 replaced)."""
        return international(phone, self.s.whatsapp_country_code)

    def body(self, to: str, template: TemplateMessage) -> dict[str, Any]:
        """The Cloud API's template message."""
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.recipient(to),
            "type": "template",
            "template": {
                "name": self.s.whatsapp_template.replace("{kind}", template.kind),
                "language": {"code": self.s.whatsapp_language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": p} for p in template.parameters],
                    }
                ],
            },
        }

    async def send(
        self, *, to: str, subject: str, text: str, template: TemplateMessage | None = None
    ) -> str:
        if template is None:
            raise SendError(
                "WhatsApp: no template parameters (free text is not sent)", permanent=True
            )
        assert self.s.whatsapp_access_token is not None  # the settings require it
        headers = {"Authorization": f"Bearer {self.s.whatsapp_access_token.get_secret_value()}"}
        try:
            response = await self.client.post(
                self.url, json=self.body(to, template), headers=headers
            )
        except httpx.TimeoutException:
            raise SendError("WhatsApp timed out") from None
        except httpx.HTTPError as exc:
            raise SendError(f"WhatsApp unreachable: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            raise _whatsapp_error(response.status_code, answer)
        try:
            message = answer["messages"][0]
            message_id = str(message["id"])
        except (TypeError, KeyError, IndexError):
            raise SendError(
                "WhatsApp refused: no message id in its answer", permanent=True
            ) from None
        if message.get("message_status") == "paused":
            raise SendError("WhatsApp refused: template paused", permanent=True)
        return message_id


def whatsapp_code(error: object) -> int | None:
    """The numeric `code` of a Cloud API error object, if it has one."""
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None


def whatsapp_reason(prefix: str, code: int | None) -> str:
    """`prefix`, then the error's name from the tables above and its code (never Meta's text)."""
    if code is None:
        return prefix
    name = WHATSAPP_TRANSIENT.get(code) or WHATSAPP_PERMANENT.get(code) or "error"
    return f"{prefix}: {name} ({code})"


def whatsapp_failures(payload: object) -> list[tuple[str, int | None]]:
    """(message id, error code) of each `failed` status in a Cloud API webhook payload
    (entry[].changes[].value.statuses[]); anything else in it is ignored."""
    out: list[tuple[str, int | None]] = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, dict) else None
            statuses = value.get("statuses") if isinstance(value, dict) else None
            for status in statuses if isinstance(statuses, list) else ():
                if not isinstance(status, dict) or status.get("status") != "failed":
                    continue
                errors = status.get("errors")
                code = whatsapp_code(errors[0]) if isinstance(errors, list) and errors else None
                if isinstance(status.get("id"), str):
                    out.append((status["id"], code))
    return out


def _whatsapp_error(status: int, answer: object) -> SendError:
    """The SendError for a Cloud API error answer: transient for 5xx, 429 and throttling."""
    code = whatsapp_code(answer.get("error") if isinstance(answer, dict) else None)
    transient = status >= 500 or status == 429 or code in WHATSAPP_TRANSIENT
    return SendError(whatsapp_reason(f"WhatsApp {status}", code), permanent=not transient)
