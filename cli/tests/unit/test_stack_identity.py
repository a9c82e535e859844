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
    env = {
        name: config.service_env(name) for name in ("intake", "referral", "notify", "report", "web")
    }
    assert env["intake"]["JEJARING_IDENTITY_KEY"] == "identity-key-from-the-shell-0123456789ab"
    assert env["intake"]["JEJARING_IDENTITY_PUBLIC_KEY"] == public
    for name in ("referral", "notify", "report"):
        assert "JEJARING_IDENTITY_KEY" not in env[name], name
        assert env[name]["JEJARING_IDENTITY_PUBLIC_KEY"] == public, name
    assert "JEJARING_IDENTITY_KEY" not in env["web"]
    assert "JEJARING_IDENTITY_PUBLIC_KEY" not in env["web"]


def test_report_runs_as_a_fourth_service_and_the_web_app_reaches_it(tmp_path: Path) -> None:
    """`jejaring up` gives report its port (8003, JEJARING_REPORT_PORT), its SQLite file under
    the data dir, its own NATS user and admin token; the web app gets WEB_REPORT_URL and no
    token of report's."""
    assert StackConfig().ports["report"] == 8003
    config = StackConfig.from_env(
        {"JEJARING_DATA_DIR": str(tmp_path), "JEJARING_REPORT_PORT": "9103"}
    )
    report, web = config.service_env("report"), config.service_env("web")
    assert report["REPORT_PORT"] == "9103"
    assert report["REPORT_DATA_DIR"] == str(tmp_path.resolve())
    assert report["REPORT_NATS_USER"] == "svc-report"
    assert report["REPORT_NATS_PASSWORD"] not in {
        config.service_env(n)[f"{n.upper()}_NATS_PASSWORD"]
        for n in ("intake", "referral", "notify")
    }
    assert report["REPORT_ADMIN_TOKEN"] == (tmp_path / "admin-token-report").read_text().strip()
    assert [v for v in report if v.endswith("_ADMIN_TOKEN")] == ["REPORT_ADMIN_TOKEN"]
    assert web["WEB_REPORT_URL"] == "http://127.0.0.1:9103"
    assert not [v for v in web if v.endswith("_ADMIN_TOKEN")]
