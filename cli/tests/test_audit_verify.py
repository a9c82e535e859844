"""`jejaring audit verify` against running intake and referral (real processes, their own
SQLite databases, a real nats-server, over their admin HTTP APIs): one line per service's
chain, and where it breaks when a record is altered or deleted in that service's database."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.shared.secrets import new_secret
from jejaring.testing import identity_env, service_process

JEJARING = str(Path(sys.executable).parent / "jejaring")
TOKENS = {"intake": new_secret(), "referral": new_secret()}
IDENTITY_KEY = "identity-key-for-tests-0123456789abcdef"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """Intake's and referral's addresses, and the folder of their data."""
    folder = tmp_path_factory.mktemp("audit")
    nats = NatsServer(store_dir=folder / "js", log_file=folder / "nats.log").start()
    urls: dict[str, str] = {}
    try:
        with contextlib.ExitStack() as running:
            for service in TOKENS:
                prefix = service.upper()
                env = {
                    f"{prefix}_DATA_DIR": str(folder / service),
                    f"{prefix}_PORT": str(free_port()),
                    f"{prefix}_NATS_URL": nats.url,
                    f"{prefix}_ADMIN_TOKEN": TOKENS[service],
                    **identity_env(service, IDENTITY_KEY),
                }
                urls[service] = running.enter_context(service_process(service, env))
            yield urls, folder
    finally:
        nats.stop()


def verify(urls: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JEJARING_")}
    env |= {"JEJARING_DATA_DIR": "/nonexistent"}
    for service, url in urls.items():
        env |= {
            f"JEJARING_{service.upper()}_URL": url,
            f"{service.upper()}_ADMIN_TOKEN": TOKENS[service],
        }
    return subprocess.run(
        [JEJARING, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


def sql(database: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        return conn.execute(statement, params).fetchall()


def test_audit_verify_says_for_each_service_intact_or_where_its_chain_breaks(
    stack: tuple[dict[str, str], Path],
) -> None:
    urls, data = stack
    intact = verify(urls)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    lines = intact.stdout.strip().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(r"intake: chain intact: \d+ records", lines[0]), lines
    assert re.fullmatch(r"referral: chain intact: \d+ records", lines[1]), lines
    assert int(lines[1].split()[3]) >= 4, "the seeded partners' records at least"

    # Referral's record 2 (a partner added) said to be someone else's: referral breaks there.
    referral_db = data / "referral" / "referral.db"
    ((role,),) = sql(referral_db, "SELECT role FROM audit_record WHERE seq = 2")
    sql(referral_db, "UPDATE audit_record SET role = 'admin' WHERE seq = 2")
    broken = verify(urls)
    assert broken.returncode == 1
    out = broken.stdout.strip().splitlines()
    assert re.fullmatch(r"intake: chain intact: \d+ records", out[0]), out
    assert out[1] == (
        "referral: chain broken at record 2: altered (its content does not match its hash); "
        "1 records before it are intact"
    ), out
    sql(referral_db, "UPDATE audit_record SET role = ? WHERE seq = 2", role)
    assert verify(urls).returncode == 0

    # A record deleted from referral's trail: noticed at the next one.
    sql(referral_db, "DELETE FROM audit_record WHERE seq = 3")
    gone = verify(urls).stdout.strip().splitlines()
    assert gone[1].startswith("referral: chain broken at record 4: missing (records 3..3 are"), gone

    # Intake's trail altered too: both said, each at its own record.
    sql(data / "intake" / "intake.db", "UPDATE audit_record SET role = 'dpo' WHERE seq = 1")
    both = verify(urls)
    assert both.returncode == 1
    assert both.stdout.startswith(
        "intake: chain broken at record 1: altered (its content does not match its hash)"
    ), both.stdout


def test_a_service_that_cannot_be_asked_fails_the_check(stack: tuple[dict[str, str], Path]) -> None:
    urls, _ = stack
    away = verify({**urls, "referral": f"http://127.0.0.1:{free_port()}"})
    assert away.returncode == 1
    assert (
        away.stdout.strip()
        .splitlines()[1]
        .startswith("referral: not checked: referral is not reachable at http://127.0.0.1:")
    ), away.stdout
