"""The one way a `jejaring` command changes a running service: its admin HTTP API, with that
service's admin token. Never its database file: on a compose host that file is not the one the
service uses, and what the command wrote there would be invisible to it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import typer

from jejaring.cli.health import DEFAULT_PORTS
from jejaring.cli.stack import admin_token_file, admin_token_variable

# An answer that says the input was refused (exit 2, as a refused option): the API's field errors.
REFUSED = {400, 404, 409, 422}


class AdminApiError(Exception):
    """A call that did not succeed, in one line for the operator, and the exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def base_url(service: str) -> str:
    """JEJARING_<SERVICE>_URL, else the embedded stack's address (JEJARING_HOST and
    JEJARING_<SERVICE>_PORT, as `jejaring up` serves it)."""
    if url := os.environ.get(f"JEJARING_{service.upper()}_URL"):
        return url.rstrip("/")
    host = os.environ.get("JEJARING_HOST", "127.0.0.1")
    port = os.environ.get(f"JEJARING_{service.upper()}_PORT", str(DEFAULT_PORTS[service]))
    return f"http://{host}:{port}"


def admin_token(service: str) -> str:
    """<SERVICE>_ADMIN_TOKEN, else the one `jejaring up` stored under JEJARING_DATA_DIR."""
    if token := os.environ.get(admin_token_variable(service)):
        return token
    stored = admin_token_file(Path(os.environ.get("JEJARING_DATA_DIR", ".data")), service)
    if stored.exists():
        return stored.read_text().strip()
    raise AdminApiError(
        f"set {admin_token_variable(service)} ({service}'s admin token, in .env on a compose "
        "host), or run this where `jejaring up` keeps its data (JEJARING_DATA_DIR)",
        2,
    )


def request(service: str, method: str, path: str, body: Any = None) -> Any:
    """`method path` on `service`'s API as its admin; the answer's JSON, or AdminApiError."""
    return send(service, method, path, body).json()


def send(
    service: str, method: str, path: str, body: Any = None, *, timeout: float = 15
) -> httpx.Response:
    """`method path` on `service`'s API as its admin; the successful answer, or AdminApiError."""
    url = base_url(service)
    headers = {"Authorization": f"Bearer {admin_token(service)}"}
    try:
        response = httpx.request(method, url + path, json=body, headers=headers, timeout=timeout)
    except httpx.TransportError:
        raise AdminApiError(
            f"{service} is not reachable at {url}; is it running (`jejaring up`, or `docker "
            f"compose up`)? Elsewhere: set JEJARING_{service.upper()}_URL",
            1,
        ) from None
    if response.status_code == 401:
        raise AdminApiError(
            f"{service} refused the admin token (401): {admin_token_variable(service)} must be "
            f"the value {service} runs with (.env on a compose host)",
            1,
        )
    if response.status_code >= 400:
        try:
            errors = response.json()["detail"]
            text = "; ".join(f"{e['field']}: {e['message_en']}" for e in errors)
        except (ValueError, KeyError, TypeError):
            text = f"{response.status_code} {response.text[:200]}"
        code = 2 if response.status_code in REFUSED else 1
        raise AdminApiError(text if code == 2 else f"{service}: {text}", code)
    return response


def call(command: str, service: str, method: str, path: str, body: Any = None) -> Any:
    """`request` for a command: a failure is printed as `jejaring COMMAND: reason` and ends
    the command with its exit code."""
    try:
        return request(service, method, path, body)
    except AdminApiError as exc:
        typer.echo(f"jejaring {command}: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
