"""Referral does not start with a partner kind missing from R6 (its cases would fail routing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jejaring.referral import policy
from jejaring.referral.app import create_runtime
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.contract.enums import PartnerKind


def settings(tmp_path: Path) -> ReferralSettings:
    return ReferralSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}",
        data_dir=tmp_path,
        nats_url="nats://127.0.0.1:1",
    )


def test_the_real_tables_cover_every_partner_kind(tmp_path: Path) -> None:
    policy.check_r6()
    assert create_runtime(settings(tmp_path)).name == "referral"
    assert not (tmp_path / "never-opened.db").exists(), "no database was touched"


@pytest.mark.parametrize("table", ["CASE_FIELDS", "VICTIM_FIELDS"])
def test_a_kind_missing_from_either_table_stops_the_start(
    table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = getattr(policy, table)
    monkeypatch.setattr(policy, table, {k: v for k, v in full.items() if k != PartnerKind.HEALTH})
    with pytest.raises(policy.PolicyIncomplete) as stopped:
        create_runtime(settings(tmp_path))
    assert f"{table} has no entry for partner kind 'health'" in str(stopped.value)


def test_every_missing_kind_is_named() -> None:
    with pytest.raises(policy.PolicyIncomplete) as stopped:
        policy.check_r6(case_fields={}, victim_fields=policy.VICTIM_FIELDS)
    for kind in PartnerKind:
        assert f"CASE_FIELDS has no entry for partner kind '{kind.value}'" in str(stopped.value)
    assert "VICTIM_FIELDS" not in str(stopped.value)
