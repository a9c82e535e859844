"""`jejaring up` keeps its data directory private: after a case flows through the embedded stack,
.data is 0700 and no file in it (databases, logs, the file outbox, nats.conf, the secrets) is
readable by anyone but its owner; a .data an older run left readable is tightened at start."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import THREE_WAY_CASE

JEJARING = str(Path(sys.executable).parent / "jejaring")


def readable_by_others(data: Path) -> list[str]:
    """Every path under `data` (itself included) that group or others may open or list."""
    return [
        f"{path.relative_to(data.parent)} {stat.filemode(path.lstat().st_mode)}"
        for path in (data, *data.rglob("*"))
        if path.lstat().st_mode & 0o077 and not path.is_symlink()
    ]


def test_after_a_case_flows_nothing_in_data_is_readable_by_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # What an older run left: a world-readable .data and log.
    (data / "logs").mkdir(parents=True)
    data.chmod(0o755)
    (data / "logs" / "intake.log").write_text("an older run\n")
    (data / "logs" / "intake.log").chmod(0o644)
    ports = {
        s: free_port() for s in ("NATS", "NATS_MONITOR", "INTAKE", "REFERRAL", "NOTIFY", "WEB")
    }
    env = {
        **os.environ,
        "JEJARING_DATA_DIR": str(data),
        **{f"JEJARING_{name}_PORT": str(port) for name, port in ports.items()},
    }
    proc = subprocess.Popen(
        [JEJARING, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Jejaring is running"), first + proc.stdout.read()
        intake = f"http://127.0.0.1:{ports['INTAKE']}"
        officer = ["--name", "Petugas Uji", "--role", "officer", "--kelurahan", "64.71.04.1003"]
        # as an operator adds an officer (into intake's database)
        added = subprocess.run(
            [JEJARING, "user", "add", *officer], env=env, capture_output=True, text=True, timeout=60
        )
        assert added.returncode == 0, added.stderr
        token = {"Authorization": f"Bearer {added.stdout.strip().splitlines()[-1]}"}
        # High risk: the police are alerted at once, whatever the hour (R3), so an SMS file
        # is written to the outbox while the test waits.
        case = httpx.post(
            f"{intake}/api/v1/cases",
            json={**THREE_WAY_CASE, "risk_level": "high"},
            headers=token,
            timeout=10,
        )
        assert case.status_code == 201, case.text
        outbox = data / "outbox"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(outbox.rglob("*.json")):
            time.sleep(0.2)
        written = sorted(p.name for p in outbox.rglob("*.json"))
        assert written, "no alert reached the file outbox"

        names = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
        for expected in ("intake.db", "referral.db", "notify.db", "web.db", "nats.conf"):
            assert expected in names, sorted(names)
        assert {"admin-token", "identity-key", "logs/nats.log", "logs/notify.log"} <= names
        assert any(n.startswith("nats/jetstream/") for n in names), "no JetStream files"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert readable_by_others(data) == []
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
