"""The embedded stack hands intake's signing secret to intake alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from jejaring.cli.stack import StackConfig
from jejaring.shared.web.identity import public_key_of


def test_only_intake_gets_the_identity_key_the_others_its_public_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even when the operator's shell exports both (a stale public key among them).
    monkeypatch.setenv("JEJARING_IDENTITY_KEY", "identity-key-from-the-shell-0123456789ab")
    monkeypatch.setenv("JEJARING_IDENTITY_PUBLIC_KEY", public_key_of("an-older-key-0123456789"))
    config = StackConfig(data_dir=tmp_path)
    public = public_key_of("identity-key-from-the-shell-0123456789ab")
    env = {name: config.service_env(name) for name in ("intake", "referral", "notify", "web")}
    assert env["intake"]["JEJARING_IDENTITY_KEY"] == "identity-key-from-the-shell-0123456789ab"
    assert env["intake"]["JEJARING_IDENTITY_PUBLIC_KEY"] == public
    for name in ("referral", "notify"):
        assert "JEJARING_IDENTITY_KEY" not in env[name], name
        assert env[name]["JEJARING_IDENTITY_PUBLIC_KEY"] == public, name
    assert "JEJARING_IDENTITY_KEY" not in env["web"]
    assert "JEJARING_IDENTITY_PUBLIC_KEY" not in env["web"]
