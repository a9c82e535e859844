"""The test and embedded nats-server (`NatsServer`) on the real binary: a port it chose that
someone took before the server bound it is chosen again; a port it was given never is."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from jejaring.shared.messaging.natsserver import NatsServer, NatsServerError, free_port


def squat(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_chosen_port_taken_before_the_server_binds_it_is_chosen_again(tmp_path: Path) -> None:
    server = NatsServer(store_dir=tmp_path / "js", log_file=tmp_path / "nats.log")
    taken = server.port
    with squat(taken):
        server.start()
        try:
            assert server.port != taken
            assert f":{server.port}" in server.url
            assert f'listen: "127.0.0.1:{server.port}"' in server.config_file.read_text()
        finally:
            server.stop()


def test_a_given_port_that_is_taken_is_an_error_not_moved(tmp_path: Path) -> None:
    port = free_port()
    server = NatsServer(
        store_dir=tmp_path / "js", port=port, monitor_port=free_port(), log_file=tmp_path / "n.log"
    )
    with squat(port), pytest.raises(NatsServerError, match="exited with code"):
        server.start(timeout=10)
    assert server.port == port
