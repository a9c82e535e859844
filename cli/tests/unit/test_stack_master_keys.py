"""The embedded stack makes intake's master keys once (0600) and hands them to intake alone;
`jejaring keys new-master` prints a line intake takes."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jejaring.cli.stack import StackConfig
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto

JEJARING = str(Path(sys.executable).parent / "jejaring")


def test_the_stack_makes_the_master_keys_once_for_intake_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTAKE_MASTER_KEYS", raising=False)
    monkeypatch.delenv("INTAKE_MASTER_KEYS_FILE", raising=False)
    config = StackConfig(data_dir=tmp_path)
    env = {name: config.service_env(name) for name in ("intake", "referral", "notify", "web")}
    file = Path(env["intake"]["INTAKE_MASTER_KEYS_FILE"])
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    keys = crypto.MasterKeys.parse(file.read_text())
    assert config.service_env("intake")["INTAKE_MASTER_KEYS_FILE"] == str(file)
    assert crypto.MasterKeys.parse(file.read_text()) == keys, "made once, then kept"
    for name in ("referral", "notify", "web"):
        assert not {"INTAKE_MASTER_KEYS", "INTAKE_MASTER_KEYS_FILE"} & set(env[name]), name
    monkeypatch.setenv("INTAKE_MASTER_KEYS", crypto.generate_line("k9"))
    for name in ("referral", "notify", "web"):
        assert "INTAKE_MASTER_KEYS" not in config.service_env(name), name


def test_new_master_prints_a_line_intake_takes_first() -> None:
    made = subprocess.run(
        [JEJARING, "keys", "new-master", "--id", "k2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = made.stdout.strip()
    keys = IntakeSettings(master_keys=f"{line},{crypto.generate_line('k1')}").keyring_keys()
    assert (keys.current, list(keys.ids())) == ("k2", ["k2", "k1"])
    refused = subprocess.run(
        [JEJARING, "keys", "new-master", "--id", "k 2"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "key id 'k 2'" in refused.stderr
