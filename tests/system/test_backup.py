"""Backup → wipe → restore, as an operator runs it (`jejaring backup` / `jejaring restore`), on
the real system: the three services and the web app on SQLite files, or on PostgreSQL when
JEJARING_TEST_DATABASE_URL is set, and a real nats-server."""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pyrage
from nats.js.errors import NotFoundError
from pyrage import x25519
from sqlalchemy.engine import make_url

from jejaring.cli import backup_pg
from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import VICTIM_NAME, pg

from .conftest import ADMIN_TOKENS, PARTNERS, SERVICES, System, norm

ALL = (*SERVICES, "web")
UNSENT = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"


def jejaring(s: System, *args: str) -> subprocess.CompletedProcess[str]:
    """The `jejaring` command, configured as the services are (their database URLs, ports)."""
    env = {**os.environ}
    for name in ALL:
        env[f"{name.upper()}_DATABASE_URL"] = s.dbs[name]
    for name, port in s.ports.items():  # and the embedded stack's, whatever else runs here
        env[f"{name.upper()}_PORT"] = env[f"JEJARING_{name.upper()}_PORT"] = str(port)
    return subprocess.run(
        [sys.executable, "-m", "jejaring.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_web(s: System) -> None:
    s.ports["web"] = s.ports.get("web") or free_port()
    log = open(s.tmp / "web.log", "ab")  # noqa: SIM115 - closed with the process
    s.procs["web"] = subprocess.Popen(
        [sys.executable, "-m", "jejaring.web"],
        env={
            **os.environ,
            "WEB_DATABASE_URL": s.dbs["web"],
            "WEB_PORT": str(s.ports["web"]),
            "WEB_DATA_DIR": str(s.tmp / "data"),
            "WEB_INTAKE_URL": s.url("intake"),
        },
        stdout=log,
        stderr=log,
    )
    s.wait_ready("web")


def stop(s: System) -> None:
    s.stop_all()
    s.procs.clear()


def wipe(url: str) -> None:
    """Delete a SQLite file, or drop and create again a PostgreSQL database."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{u.database}{suffix}").unlink(missing_ok=True)
        return
    asyncio.run(pg.recreate_database(url))


def state(s: System, case_id: str, reference: str) -> dict[str, Any]:
    """What an operator sees through the APIs: the case, its referrals, its delivery log."""
    case = httpx.get(f"{s.url('intake')}/api/v1/cases/{case_id}", headers=s.officer).json()
    admin = {"Authorization": f"Bearer {ADMIN_TOKENS['referral']}"}
    referrals = sorted(
        (r["id"], r["partner_slug"], r["status"])
        for slug in PARTNERS
        for r in httpx.get(
            f"{s.url('referral')}/api/v1/partners/{slug}/referrals", headers=admin
        ).json()
        if r["case_reference"] == reference
    )
    deliveries = httpx.get(
        f"{s.url('notify')}/api/v1/deliveries",
        params={"case_reference": reference},
        headers={"Authorization": f"Bearer {ADMIN_TOKENS['notify']}"},
    ).json()
    log = sorted((d["id"], d["channel"], d["status"]) for d in deliveries)
    return {"case": case, "referrals": referrals, "deliveries": log}


def public_key(s: System, name: str) -> str:
    made = jejaring(s, "backup", "keygen", "--out", str(s.tmp / name))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE((s.tmp / name).stat().st_mode) == 0o600
    return made.stdout.split()[-1]


def test_backup_wipe_restore_brings_back_cases_referrals_and_deliveries(system: System) -> None:
    s = system
    start_web(s)
    s.post_cases(1)
    s.converge()
    (summary,) = httpx.get(f"{s.url('intake')}/api/v1/cases", headers=s.officer).json()["items"]
    case_id, reference = summary["id"], summary["reference"]
    before = state(s, case_id, reference)
    assert len(before["referrals"]) == 3 and before["deliveries"], before
    assert before["case"]["victims"][0]["name"] == VICTIM_NAME

    # Taken while everything runs: the online copy is consistent.
    key = public_key(s, "backup-key.txt")
    backup_file = s.tmp / "jejaring.age"
    started = time.monotonic()
    taken = jejaring(s, "backup", "--out", str(backup_file), "--recipient", key)
    took = time.monotonic() - started
    assert taken.returncode == 0, taken.stderr
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    ciphertext = backup_file.read_bytes()
    for secret in (VICTIM_NAME, reference):
        assert secret.encode() not in ciphertext
    # ... though the archive inside does hold them, with a manifest that checks out.
    identity = x25519.Identity.from_str((s.tmp / "backup-key.txt").read_text().split()[-1])
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(ciphertext, [identity]))) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        intake_db = tar.extractfile(manifest["databases"]["intake"]["file"]).read()  # type: ignore[union-attr]
    assert set(manifest["databases"]) == set(ALL)
    assert all(d["alembic_revisions"] for d in manifest["databases"].values()), manifest
    assert reference.encode() in readable(manifest["databases"]["intake"]["kind"], intake_db)

    refused = jejaring(s, "restore", str(backup_file), "--identity", str(s.tmp / "backup-key.txt"))
    assert refused.returncode == 1
    assert "running" in refused.stderr or "other connection" in refused.stderr, refused.stderr

    stop(s)
    for name in ALL:
        wipe(s.dbs[name])

    # A key it was not made for, or an altered file: refused, and nothing written.
    public_key(s, "other-key.txt")
    wrong = jejaring(s, "restore", str(backup_file), "--identity", str(s.tmp / "other-key.txt"))
    assert wrong.returncode == 1
    assert "not encrypted to this identity" in wrong.stderr, wrong.stderr
    tampered = s.tmp / "tampered.age"
    altered = bytearray(ciphertext)
    altered[len(altered) // 2] ^= 0x01
    tampered.write_bytes(bytes(altered))
    damaged = jejaring(s, "restore", str(tampered), "--identity", str(s.tmp / "backup-key.txt"))
    assert damaged.returncode == 1
    assert "damaged or altered" in damaged.stderr, damaged.stderr
    for name in ALL:
        assert empty(s.dbs[name]), f"{name} was written by a refused restore"

    started = time.monotonic()
    restored = jejaring(s, "restore", str(backup_file), "--identity", str(s.tmp / "backup-key.txt"))
    assert restored.returncode == 0, restored.stderr
    print(
        f"\n  backup {backup_file.stat().st_size} bytes in {took:.1f} s, "
        f"restore in {time.monotonic() - started:.1f} s (both as a command, with its start-up)"
    )
    again = jejaring(s, "restore", str(backup_file), "--identity", str(s.tmp / "backup-key.txt"))
    assert again.returncode == 1 and "not empty" in again.stderr, again.stderr

    # Start again, on a fresh JetStream (streams are not in the backup).
    s.nats = NatsServer(store_dir=s.tmp / "jetstream-new", log_file=s.tmp / "nats-new.log").start()
    for name in SERVICES:
        s.start(name)
    s.wait_ready()
    start_web(s)
    assert state(s, case_id, reference) == before
    # referral's reconciler finds the open requests missing from the new partner streams and
    # publishes them again; notify does not alert twice.
    asyncio.run(wait_for_requests_in_partner_streams(s, {norm(r[0]) for r in before["referrals"]}))
    asyncio.run(wait_until_every_consumer_is_done(s))
    assert state(s, case_id, reference)["deliveries"] == before["deliveries"]


def readable(kind: str, dump: bytes) -> bytes:
    """A database as bytes a search finds text in: pg_dump's custom format is compressed."""
    if kind == "sqlite":
        return dump
    return subprocess.run(
        [backup_pg.tool("pg_restore"), "--data-only", "--file=-"],
        input=dump,
        capture_output=True,
        check=True,
    ).stdout


def empty(url: str) -> bool:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return not Path(u.database or "").exists()
    return backup_pg.tables(url) == 0


async def wait_for_requests_in_partner_streams(
    s: System, referrals: set[str], timeout: float = 60
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    found: set[str] = set()
    while loop.time() < deadline:
        found = set()
        for slug in PARTNERS:
            try:
                msgs = await s._stream("AGENCY_" + slug.upper().replace("-", "_"))
            except NotFoundError:  # the stream not made yet
                continue
            found |= {norm(m.headers.get("ce-subject")) for m in msgs if m.headers}
        if referrals <= found:
            return
        await asyncio.sleep(1)
    raise AssertionError(f"partner streams hold {found}, not every referral of {referrals}")


async def wait_until_every_consumer_is_done(s: System, timeout: float = 60) -> None:
    """Every outbox published again and every service's durable consumer through its stream:
    what the services do with the events published again after the restore is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    busy: list[str] = ["not checked"]
    while loop.time() < deadline:
        unsent = [n for n in SERVICES if (await s._rows(n, UNSENT))[0][0]]
        nc = await nats.connect(s.nats.url)
        try:
            js = nc.jetstream()
            busy = unsent + [
                f"{c.stream_name}/{c.name}"
                for stream in await js.streams_info()
                if not (stream.config.name or "").startswith("AGENCY_")  # no partner runs here
                for c in await js.consumers_info(stream.config.name or "")
                if c.config.durable_name and (c.num_pending or c.num_ack_pending)
            ]
        finally:
            await nc.close()
        if not busy:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"still at work: {busy}")
