"""JetStream encryption at rest in the committed deployment: the single node and every cluster
node encrypt their store with the key from NATS_JETSTREAM_KEY, which compose gives the nats
service only, `jejaring init` generates and `jejaring init --check` requires; a node started
without it refuses to start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from jejaring.cli import init
from jejaring.shared.messaging.natsserver import JETSTREAM_CIPHER, JETSTREAM_KEY_ENV

ROOT = Path(__file__).resolve().parents[2]
NATS = ROOT / "deploy" / "nats"
CONFIGS = [NATS / "nats.conf", *sorted((NATS / "cluster").glob("nats-*.conf"))]
EXAMPLE = (ROOT / ".env.example").read_text()


def jetstream_block(text: str) -> str:
    found = re.search(r"^jetstream \{\n(.*?)^\}", text, re.S | re.M)
    assert found, "no jetstream block"
    return found.group(1)


def test_every_node_encrypts_its_store_with_the_key_from_the_environment() -> None:
    assert len(CONFIGS) == 4
    for path in CONFIGS:
        settings = [line.strip() for line in jetstream_block(path.read_text()).splitlines()]
        assert f"cipher: {JETSTREAM_CIPHER}" in settings, path.name
        assert f"key: ${JETSTREAM_KEY_ENV}" in settings, path.name


def test_compose_gives_the_key_to_nats_only_and_refuses_without_it() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    given = {
        name: env[JETSTREAM_KEY_ENV]
        for name, service in services.items()
        if JETSTREAM_KEY_ENV in (env := service.get("environment") or {})
    }
    assert list(given) == ["nats"]
    assert given["nats"].startswith(f"${{{JETSTREAM_KEY_ENV}:?")


def test_init_generates_the_key_and_check_requires_it() -> None:
    assert JETSTREAM_KEY_ENV in init.secret_names(EXAMPLE)
    filled = init.parse(init.fill(EXAMPLE, {}).text)
    assert JETSTREAM_KEY_ENV in init.fill(EXAMPLE, {}).generated
    assert init.check(EXAMPLE, filled) == []
    without = {k: v for k, v in filled.items() if k != JETSTREAM_KEY_ENV}
    assert init.check(EXAMPLE, without) == [f"{JETSTREAM_KEY_ENV} is missing"]


def test_a_node_without_the_key_refuses_to_start(tmp_path: Path) -> None:
    """nats-server itself: the key's variable unset is a configuration error, not a node
    that starts unencrypted."""
    binary = Path(sys.executable).parent / "nats-server"
    conf = tmp_path / "nats.conf"
    conf.write_text(
        'listen: "127.0.0.1:-1"\njetstream {\n'
        + f'  store_dir: "{tmp_path}/js"\n'
        + jetstream_block((NATS / "nats.conf").read_text())
        + "}\n"
    )
    args = [str(binary), "-t", "-c", str(conf)]
    refused = subprocess.run(args, capture_output=True, text=True, env={}, check=False)
    assert refused.returncode != 0
    assert JETSTREAM_KEY_ENV in refused.stdout + refused.stderr
    env = {JETSTREAM_KEY_ENV: "a-jetstream-key-for-this-test-0001"}
    accepted = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
