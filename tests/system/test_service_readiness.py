"""Each service as a real process: ready only while its database and NATS answer, and back by
itself after a NATS outage, without a restart. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import wait_status

SERVICES = ["intake", "referral", "notify", "report"]


@pytest.fixture
def service_process(
    request: pytest.FixtureRequest, nats_server: NatsServer, database_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    name = request.param
    prefix = name.upper() + "_"
    port = free_port()
    env = {
        **os.environ,
        prefix + "PORT": str(port),
        prefix + "NATS_URL": nats_server.url,
        prefix + "DATABASE_URL": database_url,
        prefix + "DATA_DIR": str(tmp_path / "data"),
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", f"jejaring.{name}"], env=env, stdout=log, stderr=log
    )
    try:
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.mark.parametrize("service_process", SERVICES, indirect=True)
def test_ready_only_while_nats_answers_and_back_without_restart(
    service_process: tuple[subprocess.Popen[bytes], int], nats_server: NatsServer
) -> None:
    proc, port = service_process
    body = wait_status(port, 200)
    assert body["checks"] == {"database": "ok", "nats": "ok", "streams": "ok"}

    nats_server.kill()
    body = wait_status(port, 503)
    assert body["checks"]["nats"] == "disconnected"
    assert body["checks"]["database"] == "ok"
    assert body["outbox_unsent"] == 0

    nats_server.start()  # same port, same JetStream directory
    wait_status(port, 200)
    assert proc.poll() is None, "the service was not restarted"


@pytest.mark.parametrize("service_process", ["referral"], indirect=True)
def test_a_service_provisions_its_streams_and_partner_streams(
    service_process: tuple[subprocess.Popen[bytes], int], nats_server: NatsServer
) -> None:
    _, port = service_process
    wait_status(port, 200)
    with urllib.request.urlopen(
        f"http://127.0.0.1:{nats_server.monitor_port}/jsz?streams=true&consumers=true", timeout=2
    ) as resp:
        jsz = json.loads(resp.read())
    streams = {s["name"]: s for s in jsz["account_details"][0]["stream_detail"]}
    assert {"CASES", "REPLIES", "REFERRAL_EVENTS", "DLQ"} <= set(streams)
    for slug in ("polresta-ppa", "babinsa-bpp-tengah", "posbakum-aisyiyah", "bikksa-mentari"):
        stream = streams["AGENCY_" + slug.upper().replace("-", "_")]
        assert [c["name"] for c in stream["consumer_detail"]] == [slug]


@pytest.mark.parametrize("service_process", ["intake"], indirect=True)
def test_drift_it_cannot_fix_stops_the_service_loudly(
    service_process: tuple[subprocess.Popen[bytes], int], nats_server: NatsServer, tmp_path: Path
) -> None:
    # The fixture has started intake already; give it a CASES stream in memory, not on file,
    # then restart it: it must refuse to run rather than use a stream that loses data.
    proc, port = service_process
    wait_status(port, 200)
    proc.terminate()
    proc.wait(timeout=20)
    asyncio.run(_recreate_cases_in_memory(nats_server.url))

    log = tmp_path / "drift.log"
    env = {
        **os.environ,
        "INTAKE_PORT": str(port),
        "INTAKE_NATS_URL": nats_server.url,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
    }
    with open(log, "wb") as out:
        result = subprocess.run(
            [sys.executable, "-m", "jejaring.intake"], env=env, stdout=out, stderr=out, timeout=60
        )
    assert result.returncode == 78
    text = log.read_text()
    assert "provisioning drift" in text
    assert "stream CASES" in text
    assert "storage" in text


async def _recreate_cases_in_memory(url: str) -> None:
    import nats
    from nats.js.api import StorageType

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.delete_stream("CASES")
    await js.add_stream(name="CASES", subjects=["case.v1.>"], storage=StorageType.MEMORY)
    await nc.close()
