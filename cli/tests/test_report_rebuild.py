"""`jejaring report-rebuild` against a running report (a real process, over its admin HTTP
API): the read model is emptied and filled again from the streams as the events say."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.shared.secrets import new_secret
from jejaring.testing import publish, run_sql, sample_events, service_process, until

JEJARING = str(Path(sys.executable).parent / "jejaring")
ADMIN_TOKEN = new_secret()


@pytest.fixture
def report(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(report's address, nats-server's, report's database) with `python -m jejaring.report`."""
    nats = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log").start()
    database = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    env = {
        "REPORT_DATA_DIR": str(tmp_path / "data"),
        "REPORT_DATABASE_URL": database,
        "REPORT_PORT": str(free_port()),
        "REPORT_NATS_URL": nats.url,
        "REPORT_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    try:
        with service_process("report", env) as url:
            yield url, nats.url, database
    finally:
        nats.stop()


def rebuild(url: str, token: str, *, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    """`jejaring report-rebuild --yes`, or without --yes answering its question with `answer`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEJARING_", "REPORT_"))}
    env |= {"JEJARING_REPORT_URL": url, "REPORT_ADMIN_TOKEN": token}
    args = (
        [JEJARING, "report-rebuild"]
        if answer is not None
        else [JEJARING, "report-rebuild", "--yes"]
    )
    return subprocess.run(args, env=env, input=answer, capture_output=True, text=True, timeout=60)


def cases(database: str) -> list[tuple[str, str]]:
    return [
        tuple(row) for row in run_sql(database, "SELECT reference, risk_level FROM report_case")
    ]


def test_report_rebuild_replays_the_streams_into_an_emptied_read_model(
    report: tuple[str, str, str],
) -> None:
    url, nats_url, database = report
    # one of every type on CASES and REFERRAL_EVENTS: a case, its referral's facts, ...
    events = [
        e
        for e in sample_events()
        if e.nats_subject().startswith(("case.v1.", "referral.v1.event."))
    ]
    for event in events:
        publish(nats_url, event)
    projected = until(lambda: cases(database), timeout=30)
    referrals = until(lambda: run_sql(database, "SELECT id, status FROM report_referral"))
    run_sql(database, "DELETE FROM report_referral")
    run_sql(database, "UPDATE report_case SET risk_level = 'low'")

    result = rebuild(url, ADMIN_TOKEN)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "report: read model emptied; replaying report-cases, report-referral-events from the "
        "first message of their streams"
    )
    until(lambda: cases(database) == projected, timeout=30)
    until(lambda: run_sql(database, "SELECT id, status FROM report_referral") == referrals)


def test_report_rebuild_asks_first_and_a_no_empties_nothing(
    report: tuple[str, str, str],
) -> None:
    url, nats_url, database = report
    for event in sample_events():
        if event.nats_subject().startswith("case.v1."):
            publish(nats_url, event)
    projected = until(lambda: cases(database), timeout=30)
    run_sql(database, "UPDATE report_case SET risk_level = 'low'")
    result = rebuild(url, ADMIN_TOKEN, answer="n\n")
    assert result.returncode == 1
    assert "older months come back only from a backup" in result.stdout
    assert cases(database) != projected, "a no leaves the read model as it was"
    assert {risk for _, risk in cases(database)} == {"low"}


def test_report_rebuild_with_a_wrong_token_says_so_in_one_line(
    report: tuple[str, str, str],
) -> None:
    result = rebuild(report[0], "not-the-token")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "jejaring report-rebuild: report refused the admin token (401): REPORT_ADMIN_TOKEN "
        "must be the value report runs with (.env on a compose host)"
    ]
