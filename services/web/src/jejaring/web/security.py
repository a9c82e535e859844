"""What every response carries and every POST must show: security headers, CSRF tokens, safe
redirects after sign-in."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: the pages use /static/app.css and /static/app.js only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds the security headers to every response, and `Cache-Control: no-store` to every
    response but the static files: a page may hold case data, and a shared phone's cache or
    back button must not show it to the next person."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {b"cache-control", b"pragma"} or static
                ]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not static:
                    headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_csrf(sent: str, expected: str | None) -> bool:
    """Constant-time comparison of a posted CSRF token with the expected one."""
    return bool(sent) and expected is not None and hmac.compare_digest(sent, expected)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (where to go after signing in), else None.

    Only "/…" paths: no scheme, no host, no "//" or "/\\" (which browsers read as another
    host), no control characters."""
    if not target or len(target) > 500 or not target.startswith("/"):
        return None
    if target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t\0"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
