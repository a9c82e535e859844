"""The senders behind one small protocol: a file (the embedded default), SMTP email, and an
HTTP SMS gateway configurable to fit common Indonesian providers. Which channel uses which is
the channel registry's business (registry.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import ssl
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib
import httpx

from jejaring.notify.settings import NotifySettings

log = logging.getLogger(__name__)


class SendError(Exception):
    """A failed send; `permanent` ones are not retried on the same channel."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    async def send(self, *, to: str, subject: str, text: str) -> str:
        """Send one message; return the provider's message id, or raise SendError."""
        ...


class FileChannel:
    """Writes each message as a JSON file under a directory (one file per message)."""

    def __init__(self, directory: Path, kind: str) -> None:
        self.directory = directory
        self.kind = kind

    async def send(self, *, to: str, subject: str, text: str) -> str:
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

    async def send(self, *, to: str, subject: str, text: str) -> str:
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
    """SMS through an HTTP gateway: URL, auth header, JSON body template with {to} and {text},
    success check and message-id field all come from settings."""

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        self.client = client or httpx.AsyncClient(timeout=settings.sms_gateway_timeout_s)

    def _body(self, to: str, text: str) -> str:
        def escaped(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)[1:-1]

        return self.s.sms_gateway_body_template.replace("{to}", escaped(to)).replace(
            "{text}", escaped(text)
        )

    async def send(self, *, to: str, subject: str, text: str) -> str:
        s = self.s
        assert s.sms_gateway_url is not None
        headers = {"Content-Type": "application/json"}
        if s.sms_gateway_auth_header:
            name, _, value = s.sms_gateway_auth_header.get_secret_value().partition(":")
            headers[name.strip()] = value.strip()
        try:
            response = await self.client.post(
                s.sms_gateway_url, content=self._body(to, text), headers=headers
            )
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
