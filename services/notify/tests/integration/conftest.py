"""Notify's integration fixtures: settings for a test's own database and nats-server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jejaring.notify.settings import NotifySettings


@pytest.fixture
def notify_settings(
    database_url: str, nats_url: str, tmp_path: Path
) -> Callable[..., NotifySettings]:
    """Builds NotifySettings on the test's database and nats-server with fast retries; given
    `smtp_port`, email goes to that local SMTP server (plaintext, on loopback)."""

    def make(*, smtp_port: int | None = None, **fields: Any) -> NotifySettings:
        base: dict[str, Any] = dict(
            database_url=database_url,
            nats_url=nats_url,
            data_dir=tmp_path,
            retry_base_s=0.05,
            dispatch_interval_s=0.05,
        )
        if smtp_port is not None:
            base |= dict(
                email_channel="smtp",
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_security="none",
            )
        return NotifySettings(**(base | fields))

    return make
