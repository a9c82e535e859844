"""`jejaring directory --out DIR` against a running referral (a real process, its own SQLite
database, a real nats-server, over its admin HTTP API): the HSDS tabular package of the seed
partners and of one added with `jejaring partner add`, its contact published only when asked."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.shared.secrets import new_secret
from jejaring.testing import service_process

JEJARING = str(Path(sys.executable).parent / "jejaring")
TOKEN = new_secret()


@pytest.fixture
def referral(tmp_path: Path) -> Iterator[str]:
    nats = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log").start()
    env = {
        "REFERRAL_DATA_DIR": str(tmp_path / "referral"),
        "REFERRAL_PORT": str(free_port()),
        "REFERRAL_NATS_URL": nats.url,
        "REFERRAL_ADMIN_TOKEN": TOKEN,
    }
    try:
        with service_process("referral", env) as url:
            yield url
    finally:
        nats.stop()


def jejaring(url: str, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEJARING_", "REFERRAL_"))}
    env |= {"JEJARING_DATA_DIR": "/nonexistent", "JEJARING_REFERRAL_URL": url}
    env |= {"REFERRAL_ADMIN_TOKEN": token}
    return subprocess.run([JEJARING, *args], env=env, capture_output=True, text=True, timeout=60)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_directory_command_writes_the_hsds_package(referral: str, tmp_path: Path) -> None:
    for public, slug, phone in ((True, "uptd-ppa", "0542 000000"), (False, "lbh-x", "0811 777")):
        added = jejaring(
            referral,
            "partner",
            "add",
            f"--slug={slug}",
            f"--name=Mitra {slug}",
            "--kind=government",
            "--service=shelter",
            f"--contact-phone={phone}",
            "--contact-public" if public else "--no-contact-public",
        )
        assert added.returncode == 0, added.stderr
    out = tmp_path / "hsds"
    made = jejaring(referral, "directory", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "6 organizations, 8 services (HSDS 3.0.0)" in made.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "contacts.csv",
        "datapackage.json",
        "organizations.csv",
        "phones.csv",
        "service_areas.csv",
        "services.csv",
    ]
    assert {o["name"] for o in rows(out / "organizations.csv")} >= {"Mitra uptd-ppa", "Mitra lbh-x"}
    numbers = {p["number"] for p in rows(out / "phones.csv")}
    assert "0542 000000" in numbers
    assert "0811 777" not in numbers, "a contact not marked public is not published"
    assert len(rows(out / "service_areas.csv")) == 8 * 6


def test_without_the_admin_token_it_says_so(referral: str, tmp_path: Path) -> None:
    refused = jejaring(referral, "directory", "--out", str(tmp_path / "x"), token="not-it")
    assert refused.returncode == 1
    assert "jejaring directory: referral refused the admin token (401)" in refused.stderr
    assert not (tmp_path / "x").exists()
