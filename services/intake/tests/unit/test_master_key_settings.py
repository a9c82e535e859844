"""The master keys setting: required in production, refused when malformed, naming it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto
from jejaring.testing import start_refused


def test_production_refuses_to_start_without_master_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_MASTER_KEYS", raising=False)
    monkeypatch.delenv("INTAKE_MASTER_KEYS_FILE", raising=False)
    with pytest.raises(ValidationError) as refused:
        IntakeSettings(environment="production")
    assert "INTAKE_MASTER_KEYS or INTAKE_MASTER_KEYS_FILE is required in production" in str(
        refused.value
    )


def test_a_malformed_master_key_is_refused_naming_the_setting_not_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        IntakeSettings(master_keys="k1=dG9vLXNob3J0")
    message = str(refused.value)
    assert "INTAKE_MASTER_KEYS" in message and "not 32 bytes" in message
    assert "dG9vLXNob3J0" not in message


def test_keys_come_from_the_file_current_first(tmp_path: Path) -> None:
    new, old = crypto.generate_line("k2"), crypto.generate_line("k1")
    file = tmp_path / "keys"
    file.write_text(f"{new}\n{old}\n")
    keys = IntakeSettings(master_keys_file=file).keyring_keys()
    assert (keys.current, list(keys.ids())) == ("k2", ["k2", "k1"])


def test_development_without_the_setting_keeps_a_private_key_file(tmp_path: Path) -> None:
    first = IntakeSettings(data_dir=tmp_path).keyring_keys()
    again = IntakeSettings(data_dir=tmp_path).keyring_keys()
    assert first == again
    mode = (tmp_path / "intake-master-keys").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_intake_refuses_to_start_in_production_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "INTAKE_ENVIRONMENT": "production"}
    env["INTAKE_DATA_DIR"] = str(tmp_path)
    result = start_refused("intake", env)
    assert result.returncode == 78, result.stderr
    assert result.stderr.strip().splitlines() == [
        "jejaring-intake: cannot start: INTAKE_MASTER_KEYS or INTAKE_MASTER_KEYS_FILE is required "
        "in production (`jejaring keys new-master --id k1` makes a key)"
    ]
