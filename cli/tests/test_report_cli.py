"""`jejaring report` against a running report service (a real process, its own SQLite and a
nats-server): the files it writes, the default month, and the one-line errors."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from jejaring.cli.report_cli import previous_month
from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.shared.secrets import new_secret
from jejaring.testing import service_process

JEJARING = str(Path(sys.executable).parent / "jejaring")
ADMIN_TOKEN = new_secret()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("report")
    nats = NatsServer(store_dir=folder / "js", log_file=folder / "nats.log").start()
    env = {
        "REPORT_DATA_DIR": str(folder / "data"),
        "REPORT_PORT": str(free_port()),
        "REPORT_NATS_URL": nats.url,
        "REPORT_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    try:
        with service_process("report", env) as url:
            yield url
    finally:
        nats.stop()


def run(
    url: str, *args: str, cwd: Path, token: str = ADMIN_TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEJARING_", "REPORT_"))}
    env |= {
        "JEJARING_REPORT_URL": url,
        "JEJARING_DATA_DIR": "/nonexistent",
        "REPORT_ADMIN_TOKEN": token,
    }
    return subprocess.run(
        [JEJARING, "report", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_report_writes_the_pdf_and_the_xlsx(report: str, tmp_path: Path) -> None:
    result = run(report, "--month", "2026-11", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "laporan-ppatbm-2026-11.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "Laporan Bulanan PPATBM" in text.stdout and "November 2026" in text.stdout
    out = tmp_path / "r.xlsx"
    result = run(report, "--month", "2026-11", "--format", "xlsx", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert openpyxl.load_workbook(out).sheetnames[0] == "Ringkasan"


def test_report_defaults_to_the_previous_wita_month(report: str, tmp_path: Path) -> None:
    result = run(report, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f'"month":"{previous_month(dt.datetime.now(dt.UTC))}"' in result.stdout.replace(" ", "")
    # 00:30 WITA on 1 December is still 30 November in UTC: the previous month is November
    assert previous_month(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == "2026-11"


def test_report_errors_are_one_line(report: str, tmp_path: Path) -> None:
    bad = run(report, "--month", "2026-13", cwd=tmp_path)
    assert bad.returncode == 2 and "month:" in bad.stderr
    refused = run(report, "--month", "2026-11", cwd=tmp_path, token="wrong")
    assert refused.returncode == 1 and "REPORT_ADMIN_TOKEN" in refused.stderr
    down = run(f"http://127.0.0.1:{free_port()}", "--month", "2026-11", cwd=tmp_path)
    assert down.returncode == 1 and "not reachable" in down.stderr
