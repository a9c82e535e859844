"""JetStream encrypted at rest as `jejaring up` runs it: a message's body is nowhere in the bytes
of the store directory; without encryption it is (the scan can fail); a store written before
encryption was on keeps its messages and loses its plaintext at the first encrypted start; a
lost key is never silently replaced."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import nats
import pytest

from jejaring.cli import natsconfig
from jejaring.cli.stack import StackConfig, StackError, connect_once
from jejaring.shared.messaging.natsserver import (
    NatsServer,
    NatsServerError,
    encrypted_store,
    free_port,
    new_jetstream_key,
)

STREAM, SUBJECT = "T_MARKER", "marker.v1.x"


def marker() -> bytes:
    return f"Siti-Rahayu-marker-{uuid.uuid4().hex}".encode()


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle`."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def store_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


async def publish(url: str, body: bytes, *, stream: bool) -> None:
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        js = nc.jetstream()
        if stream:
            await js.add_stream(name=STREAM, subjects=[SUBJECT])
        await js.publish(SUBJECT, body)
    finally:
        await nc.close()


async def stored(url: str, seq: int) -> bytes:
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        return (await nc.jetstream().get_msg(STREAM, seq)).data
    finally:
        await nc.close()


def test_the_embedded_stacks_store_holds_no_message_in_plaintext(tmp_path: Path) -> None:
    """nats-server as `jejaring up` starts it (its config, its key, its users): a case event
    published by intake is not in any byte of the store."""
    config = StackConfig(
        data_dir=tmp_path / "data", nats_port=free_port(), nats_monitor_port=free_port()
    )
    server = config.nats_server()
    config.write_nats_config(server)
    body = marker()
    try:
        server.start()
        config.provision()
        password = natsconfig.service_secrets(config.nats_secrets_file)["intake"]

        async def as_intake() -> None:
            nc = await connect_once(server.url, "intake", password)
            try:
                ack = await nc.jetstream().publish("case.v1.created", body)
                assert ack.stream == "CASES"
            finally:
                await nc.close()

        asyncio.run(as_intake())
    finally:
        server.stop()
    key_file = config.data_dir / "nats-jetstream-key"
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    conf = config.nats_config_file.read_text()
    assert "cipher: chachapoly" in conf and "key: $NATS_JETSTREAM_KEY" in conf
    assert key not in conf
    store = server.store_dir
    assert store_files(store) > 5 and encrypted_store(store)
    assert files_holding(store, body) == []
    assert files_holding(store, key.encode()) == []


def test_without_encryption_the_scan_finds_the_message(tmp_path: Path) -> None:
    """The control: the same scan on an unencrypted store finds the body (it can fail)."""
    server = NatsServer(store_dir=tmp_path / "js")
    body = marker()
    try:
        server.start()
        asyncio.run(publish(server.url, body, stream=True))
    finally:
        server.stop()
    assert files_holding(server.store_dir, body) != []
    assert not encrypted_store(server.store_dir)


def test_a_store_from_before_encryption_keeps_its_messages_and_loses_its_plaintext(
    tmp_path: Path,
) -> None:
    """An existing unencrypted store started with a key (`jejaring up` on an older .data):
    nats-server encrypts it at start; the old message is read back, nowhere in plaintext."""
    store, old, new = tmp_path / "js", marker(), marker()
    plain = NatsServer(store_dir=store, config_file=tmp_path / "plain.conf")
    try:
        plain.start()
        asyncio.run(publish(plain.url, old, stream=True))
    finally:
        plain.stop()
    assert files_holding(store, old) != []
    encrypted = NatsServer(
        store_dir=store, config_file=tmp_path / "encrypted.conf", encryption_key="k" * 8 + "x" * 32
    )
    try:
        encrypted.start()
        asyncio.run(publish(encrypted.url, new, stream=False))
        assert asyncio.run(stored(encrypted.url, 1)) == old
        assert asyncio.run(stored(encrypted.url, 2)) == new
    finally:
        encrypted.stop()
    assert files_holding(store, old) == [] and files_holding(store, new) == []
    assert encrypted_store(store)


def test_a_lost_key_is_not_replaced_by_a_new_one(tmp_path: Path) -> None:
    """A new key for an encrypted store would start nats-server without its streams (and
    provisioning would make them anew, empty): `jejaring up` refuses, naming the file."""
    config = StackConfig(data_dir=tmp_path)
    first = config.jetstream_key()
    assert config.jetstream_key() == first  # made once
    (tmp_path / "nats" / "jetstream" / "$G").mkdir(parents=True)
    (tmp_path / "nats" / "jetstream" / "$G" / "meta.key").write_bytes(b"\0" * 16)
    (tmp_path / "nats-jetstream-key").unlink()
    with pytest.raises(StackError, match="nats-jetstream-key is missing"):
        config.nats_server()


def test_nats_server_reads_the_key_as_a_value_so_a_key_starts_with_letters(
    tmp_path: Path,
) -> None:
    """nats-server parses `$NATS_JETSTREAM_KEY` as a configuration value: a key starting with
    '-' is read as a number and the server exits (a `make up` on a fresh folder failed so, one
    time in 64). Keys made by `jejaring up` and `jejaring init` start with letters."""
    refused = NatsServer(
        store_dir=tmp_path / "refused" / "jetstream",
        log_file=tmp_path / "refused.log",
        encryption_key="-gX" + "x" * 40,  # as in the failed run: "Expected a digit but got g"
    )
    with pytest.raises(NatsServerError):
        refused.start(timeout=5)
    assert "could not be parsed" in (tmp_path / "refused.log").read_text()
    keys = [new_jetstream_key() for _ in range(2000)]
    assert all(k[:3] == "jsk" and len(k) == 46 for k in keys) and len(set(keys)) == 2000
    for n, key in enumerate(keys[:3]):
        server = NatsServer(
            store_dir=tmp_path / str(n) / "jetstream",
            log_file=tmp_path / f"{n}.log",
            encryption_key=key,
        ).start()
        server.stop()
