"""NATS passwords in the server configuration: bcrypt, slow only where it protects something."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from jejaring.cli import natsconfig
from jejaring.cli.main import _service_hashes
from jejaring.cli.stack import StackConfig


def test_the_embedded_stacks_own_random_passwords_take_bcrypts_minimum_cost(
    tmp_path: Path,
) -> None:
    config = StackConfig(data_dir=tmp_path)
    hashes = config.nats_hashes()
    passwords = natsconfig.service_secrets(config.nats_secrets_file)
    assert set(hashes) == set(natsconfig.IDENTITIES)
    for name, hashed in hashes.items():
        assert hashed.startswith("$2b$04$"), name
        assert bcrypt.checkpw(passwords[name].encode(), hashed.encode()), name
        assert len(passwords[name]) >= 43, name  # 256 random bits, URL-safe base64


def test_passwords_an_operator_gives_keep_the_slow_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    """`jejaring nats-config` (compose): the passwords come from .env, where nothing but
    `jejaring init --check` vouches for their entropy."""
    for name in natsconfig.IDENTITIES:
        monkeypatch.setenv(natsconfig.password_env(name), f"{name}-password-given-by-hand")
    for name, hashed in _service_hashes().items():
        assert hashed.startswith("$2b$11$"), name
        assert bcrypt.checkpw(f"{name}-password-given-by-hand".encode(), hashed.encode())
