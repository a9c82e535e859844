"""The embedded stack's launcher: what it imports for the services, and what it starts with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jejaring.cli.preload import PRELOAD, launcher_environment


@pytest.mark.parametrize("service", ["intake", "referral", "notify", "report", "web"])
def test_every_service_imports_what_the_launcher_imports_for_it(service: str) -> None:
    """The launcher imports only what each of the five would import anyway: nothing in a
    service's memory that its own `python -m` would not have loaded."""
    script = (
        f"import json, sys, jejaring.{service}.__main__; "
        f"print(json.dumps([m for m in {list(PRELOAD)!r} if m not in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_the_launcher_starts_with_paths_and_locale_never_a_setting_or_secret() -> None:
    kept = {
        "PATH": "/usr/bin",
        "HOME": "/home/petugas",
        "LANG": "id_ID.UTF-8",
        "LC_TIME": "id_ID.UTF-8",
        "PYTHONPATH": "src",
        "VIRTUAL_ENV": "/opt/jejaring",
    }
    settings_and_secrets = {
        "JEJARING_IDENTITY_KEY": "the signing secret",
        "INTAKE_ADMIN_TOKEN": "an admin token",
        "INTAKE_MASTER_KEYS": "the keyring",
        "REFERRAL_NATS_PASSWORD": "a password",
        "JEJARING_DATA_DIR": ".data",
        "SMTP_PASSWORD": "another password",
        "PYTHONSTARTUP": "run-this.py",
    }
    assert launcher_environment({**kept, **settings_and_secrets}) == kept
