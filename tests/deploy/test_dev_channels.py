"""A real notify process in production refuses channels that reach nobody (the file channels,
a development mail catcher) with one line naming the setting, unless NOTIFY_ALLOW_DEV_CHANNELS
says this deployment is for development."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jejaring.cli.health import healthy
from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import start_refused

REAL_SMS = {
    "NOTIFY_SMS_CHANNEL": "gateway",
    "NOTIFY_SMS_GATEWAY_URL": "https://sms.example.org/send",
}
MAILPIT = {
    "NOTIFY_EMAIL_CHANNEL": "smtp",
    "NOTIFY_SMTP_HOST": "mailpit",
    "NOTIFY_SMTP_PORT": "1025",
}


def notify_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "NOTIFY_ENVIRONMENT": "production",
        "NOTIFY_DATA_DIR": str(tmp_path),
        **settings,
    }


def notify_refuses(env: dict[str, str]) -> list[str]:
    result = start_refused("notify", env)
    assert result.returncode == 78, result.stderr  # EX_CONFIG
    return result.stderr.strip().splitlines()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "NOTIFY_SMS_CHANNEL=file writes alerts to a file and reaches nobody"),
        ({"NOTIFY_SMS_CHANNEL": "file"}, "NOTIFY_SMS_CHANNEL=file writes alerts to a file"),
        (
            {**REAL_SMS, "NOTIFY_EMAIL_CHANNEL": "file"},
            "NOTIFY_EMAIL_CHANNEL=file writes email to a file and reaches nobody",
        ),
        ({**REAL_SMS, "NOTIFY_EMAIL_CHANNEL": "smtp"}, "NOTIFY_SMTP_HOST is not set"),
        ({**REAL_SMS, **MAILPIT}, "NOTIFY_SMTP_HOST: mailpit:1025 is a development mail catcher"),
        (
            {**REAL_SMS, **MAILPIT, "NOTIFY_SMTP_HOST": "mail.example.org"},
            "NOTIFY_SMTP_HOST: mail.example.org:1025 is a development mail catcher",
        ),
    ],
)
def test_production_notify_refuses_a_channel_that_reaches_nobody_in_one_line(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    lines = notify_refuses(notify_env(tmp_path, **settings))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"jejaring-notify: cannot start: {named}"), lines[0]
    if "file" in named or "catcher" in named:
        assert "NOTIFY_ALLOW_DEV_CHANNELS=true allows it for development only" in lines[0]


def test_the_dev_setting_lets_production_notify_start_with_file_channels_and_mailpit(
    tmp_path: Path,
) -> None:
    """NOTIFY_ALLOW_DEV_CHANNELS=true: the same process starts and answers (file SMS, mailpit
    without TLS, as compose's dev profile runs it), against a real nats-server."""
    nats = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log").start()
    port = free_port()
    env = notify_env(
        tmp_path,
        **MAILPIT,
        NOTIFY_SMTP_SECURITY="none",
        NOTIFY_ALLOW_DEV_CHANNELS="true",
        NOTIFY_NATS_URL=nats.url,
        NOTIFY_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "jejaring.notify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and not healthy(f"http://127.0.0.1:{port}/healthz"):
            assert time.monotonic() < deadline, "notify did not answer"
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        nats.stop()
