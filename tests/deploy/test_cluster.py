"""The 3-node JetStream cluster configuration in deploy/nats/cluster/.

(a) Each node's file, beside a generated auth.conf and the output of `jejaring tls`, passes
`nats-server -t`. (b) The committed files, with ports, certificate paths and the store directory
rewritten for this machine, form a real cluster over TLS that enforces the included
authorization: an R3 stream stays writable when its leader is SIGKILLed, and every acknowledged
message is read back exactly once. (c) Routes need the route password and a certificate from
the site's CA: a fourth server without either cannot join and receives nothing; with both, it
joins (the control that shows the check can see a join).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from jejaring.cli import natsconfig
from jejaring.cli.partners import new_user_seed
from jejaring.cli.tls import SiteCerts, make_site_certs, route_password, routes_conf
from jejaring.shared.messaging.connection import client_tls
from jejaring.shared.messaging.natsserver import JETSTREAM_KEY_ENV, die_with_parent, free_port
from jejaring.testing import CLOCKS_APART

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_DIR = ROOT / "deploy" / "nats" / "cluster"
NODES = ("nats-1", "nats-2", "nats-3")
NATS_SERVER = Path(sys.executable).parent / "nats-server"
T = TypeVar("T")
# The generated users file, one directory above the node configs (deploy/nats/auth.conf).
AUTH_INCLUDE = 'include "../auth.conf"'
# The client port's TLS block, and the folder `jejaring tls --out deploy/nats/tls` fills.
TLS_CONF = CLUSTER_DIR.parent / "tls.conf"
TLS_INCLUDE = 'include "../tls.conf"'
ROUTES_INCLUDE = 'include "../tls/routes.conf"'
SERVER_TLS_DIR = "/etc/nats/tls/"
TEST_USER = "svc-test"
TEST_PASSWORD = "test-password-0001"
# The nodes' environment: the committed configs read JetStream's encryption key from it.
NODE_ENV = {**os.environ, JETSTREAM_KEY_ENV: "jetstream-key-for-the-cluster-test-0001"}

STREAM = "T_R3"
BEFORE = 200
AFTER = 200
RETRY_BUDGET_S = 20.0

# What a publish may meet while a stream elects a new leader or the client reconnects.
TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    asyncio.TimeoutError,
)


def conf_path(node: str) -> Path:
    return CLUSTER_DIR / f"{node}.conf"


def substitute(text: str, old: str, new: str) -> str:
    """Replace `old` by `new`, asserting the committed file contains `old` exactly once."""
    count = text.count(old)
    assert count == 1, f"expected {old!r} exactly once in the committed config, found {count}"
    return text.replace(old, new)


@dataclass
class Node:
    name: str
    client_port: int
    monitor_port: int
    cluster_port: int
    store_dir: Path
    config_file: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.client_port}"

    def monitor(self, path: str) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.monitor_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError):
            return 0, None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def users_for_the_test() -> str:
    """auth.conf for the cluster test: one user shaped like a service user, allowed T_R3 only."""
    user = {
        "user": TEST_USER,
        "password": natsconfig.bcrypt_hash(TEST_PASSWORD),
        "permissions": {
            "publish": {"allow": ["t.r3.>", "$JS.API.>", "$JS.ACK.T_R3.>"]},
            "subscribe": {"allow": ["_INBOX.>"]},
        },
    }
    return f"authorization {{\n  users = [\n    {json.dumps(user)}\n  ]\n}}\n"


def distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def site_tls(root: Path, cluster_ports: list[int] | None = None) -> SiteCerts:
    """What `jejaring tls` makes, in `root`/tls, for nodes on 127.0.0.1; `root`/tls.conf is the
    committed client TLS block pointing there. With `cluster_ports`, routes.conf lists those."""
    site = make_site_certs(
        root / "tls", ["127.0.0.1"], route_hosts=["127.0.0.1"], backdate=CLOCKS_APART
    )
    if cluster_ports is not None:
        routes = site.files["routes"]
        local = [f"127.0.0.1:{port}" for port in cluster_ports]
        routes.write_text(routes_conf(route_password(routes), local))
    (root / "tls.conf").write_text(TLS_CONF.read_text().replace(SERVER_TLS_DIR, f"{root}/tls/"))
    return site


def local_tls_paths(text: str, root: Path) -> str:
    """The route certificate paths of a node config, pointed at `root`/tls."""
    assert text.count(SERVER_TLS_DIR) == 3, "route cert, key and CA"
    return text.replace(SERVER_TLS_DIR, f"{root}/tls/")


def local_config(node: str, nodes: dict[str, Node], root: Path) -> str:
    """The committed config of `node`, rewritten for three processes on 127.0.0.1."""
    me = nodes[node]
    text = conf_path(node).read_text()
    text = substitute(text, '"0.0.0.0:4222"', f'"127.0.0.1:{me.client_port}"')
    text = substitute(text, '"127.0.0.1:8222"', f'"127.0.0.1:{me.monitor_port}"')
    text = substitute(text, '"0.0.0.0:6222"', f'"127.0.0.1:{me.cluster_port}"')
    text = substitute(text, '"/data/jetstream"', f'"{me.store_dir}"')
    text = local_tls_paths(text, root)
    assert f'server_name: "{node}"' in text
    for include in (AUTH_INCLUDE, TLS_INCLUDE, ROUTES_INCLUDE):
        assert text.count(include) == 1  # kept: resolved against the copy's directory
    assert "0.0.0.0" not in text
    assert "/data/jetstream" not in text
    for other in NODES:
        assert f"{other}:" not in text, f"{other} host name left in the rewritten {node}.conf"
    return text


def wait_cluster_ready(nodes: dict[str, Node], timeout: float = 30.0) -> str:
    """Wait until every node is healthy and all agree on a meta leader of a 3-node cluster."""
    deadline = time.monotonic() + timeout
    pending = set(nodes)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            node = nodes[name]
            assert node.process is not None
            if node.process.poll() is not None:
                pytest.fail(f"{name} exited with {node.process.returncode}:\n{node.log_tail()}")
            if node.monitor("/healthz?js-enabled-only=true")[0] == 200:
                pending.discard(name)
        time.sleep(0.1)
    assert not pending, "not healthy: " + ", ".join(
        f"{n}\n{nodes[n].log_tail()}" for n in sorted(pending)
    )
    while time.monotonic() < deadline:
        leaders = set()
        for node in nodes.values():
            status, jsz = node.monitor("/jsz")
            meta = (jsz or {}).get("meta_cluster") or {}
            if status == 200 and meta.get("leader") and meta.get("cluster_size") == 3:
                leaders.add(meta["leader"])
            else:
                leaders.add(None)
        if len(leaders) == 1 and None not in leaders:
            return leaders.pop()
        time.sleep(0.2)
    logs = "\n".join(f"--- {n}\n{node.log_tail()}" for n, node in nodes.items())
    pytest.fail(f"no JetStream meta leader agreed on within {timeout} s\n{logs}")


def meta_leader(nodes: dict[str, Node]) -> str | None:
    """The JetStream meta leader as a running node sees it."""
    for node in nodes.values():
        if node.process is not None and node.process.poll() is None:
            status, jsz = node.monitor("/jsz")
            leader = ((jsz or {}).get("meta_cluster") or {}).get("leader")
            if status == 200 and leader:
                return str(leader)
    return None


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Node]]:
    """Three nats-server processes from the committed configs, remapped to 127.0.0.1."""
    ports = distinct_free_ports(3 * len(NODES))
    nodes: dict[str, Node] = {}
    for i, name in enumerate(NODES):
        nodes[name] = Node(
            name=name,
            client_port=ports[3 * i],
            monitor_port=ports[3 * i + 1],
            cluster_port=ports[3 * i + 2],
            store_dir=tmp_path / name / "jetstream",
            config_file=tmp_path / "cluster" / f"{name}.conf",
            log_file=tmp_path / f"{name}.log",
        )
    (tmp_path / "cluster").mkdir()
    (tmp_path / "auth.conf").write_text(users_for_the_test())
    site_tls(tmp_path, [node.cluster_port for node in nodes.values()])
    try:
        for name, node in nodes.items():
            node.store_dir.mkdir(parents=True)
            node.config_file.write_text(local_config(name, nodes, tmp_path))
            with node.log_file.open("wb") as log:
                node.process = subprocess.Popen(
                    [str(NATS_SERVER), "-c", str(node.config_file)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=NODE_ENV,
                    preexec_fn=die_with_parent,
                )
        started = time.monotonic()
        meta_leader = wait_cluster_ready(nodes)
        print(
            f"\ncluster ready in {time.monotonic() - started:.1f} s, meta leader {meta_leader}, "
            + ", ".join(f"{n}={node.url}" for n, node in nodes.items())
        )
        yield nodes
    finally:
        for node in nodes.values():
            node.kill()


async def ignore(exc: Exception) -> None:
    pass


async def retry(call: Callable[[], Awaitable[T]], budget: float = 20.0) -> T:
    """`call()` again on transient JetStream errors (no leader yet, election), up to `budget` s."""
    deadline = time.monotonic() + budget
    while True:
        try:
            return await call()
        except (*TRANSIENT, nats.js.errors.APIError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def generated_auth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed node configs copied beside an auth.conf made by the real generator."""
    root = tmp_path_factory.mktemp("deploy-nats")
    (root / "cluster").mkdir()
    site_tls(root)  # routes.conf as `jejaring tls` writes it: nats-1..3 on 6222
    for node in NODES:
        text = local_tls_paths(conf_path(node).read_text(), root)
        (root / "cluster" / f"{node}.conf").write_text(text)
    hashes = {s: natsconfig.bcrypt_hash(f"{s}-password-0001") for s in natsconfig.IDENTITIES}
    _, public_key = new_user_seed()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    partners = [natsconfig.PartnerKey("posbakum-aisyiyah", public_key, until)]
    (root / "auth.conf").write_text(natsconfig.authorization(hashes, partners))
    return root


@pytest.mark.parametrize("node", NODES)
def test_config_is_valid(node: str, generated_auth: Path) -> None:
    text = conf_path(node).read_text()
    assert f'server_name: "{node}"' in text
    assert text.count(AUTH_INCLUDE) == 1, "a cluster node without the users file is open to all"
    assert text.count(TLS_INCLUDE) == 1, "clients in plaintext"
    assert text.count(ROUTES_INCLUDE) == 1, "routes without a password"
    assert "verify: true" in text, "routes without mutual TLS"
    result = subprocess.run(
        [str(NATS_SERVER), "-t", "-c", str(generated_auth / "cluster" / f"{node}.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=NODE_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_configs_differ_only_in_server_name() -> None:
    texts = {
        node: conf_path(node).read_text().replace(f'server_name: "{node}"', "") for node in NODES
    }
    assert texts["nats-1"] == texts["nats-2"] == texts["nats-3"]


def trust(tmp_path: Path) -> ssl.SSLContext:
    """A client context trusting the cluster's CA (the `cluster` fixture's tls folder)."""
    return client_tls(tmp_path / "tls" / "ca.pem")


async def test_r3_stream_survives_losing_its_leader(
    cluster: dict[str, Node], tmp_path: Path
) -> None:
    for node in cluster.values():  # the included authorization is in force on every node
        with pytest.raises(nats.errors.Error, match="(?i)authorization violation"):
            await nats.connect(
                servers=[node.url],
                tls=trust(tmp_path),
                allow_reconnect=False,
                connect_timeout=2,
                error_cb=ignore,
            )
    nc = await nats.connect(
        servers=[node.url for node in cluster.values()],
        tls=trust(tmp_path),
        user=TEST_USER,
        password=TEST_PASSWORD,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        connect_timeout=2,
        name="test-cluster",
    )
    try:
        js = nc.jetstream(timeout=2)
        await retry(
            lambda: js.add_stream(
                StreamConfig(
                    name=STREAM, subjects=["t.r3.>"], storage=StorageType.FILE, num_replicas=3
                )
            )
        )

        acked: list[str] = []
        for i in range(BEFORE):
            msg_id = f"before-{i}"
            ack = await js.publish(
                f"t.r3.{i % 7}", msg_id.encode(), headers={"Nats-Msg-Id": msg_id}
            )
            assert ack.stream == STREAM
            assert not ack.duplicate
            acked.append(msg_id)

        info = await js.stream_info(STREAM)
        assert info.cluster is not None
        victim = info.cluster.leader
        assert victim in cluster, f"stream leader {victim!r} is not one of {NODES}"
        assert info.cluster.replicas is not None
        assert len(info.cluster.replicas) == 2
        client_on = next(
            (
                n
                for n, node in cluster.items()
                if nc.connected_url and node.url.endswith(f":{nc.connected_url.port}")
            ),
            "?",
        )
        meta_before = await asyncio.to_thread(meta_leader, cluster)
        killed_at = time.monotonic()
        cluster[victim].kill()

        # Keep publishing; a publish that fails for a transient reason is retried with the same
        # Nats-Msg-Id, so a write that landed but whose ack was lost is not stored twice.
        retrying_s = 0.0
        failures: Counter[str] = Counter()
        duplicates = 0
        first_ack_after_kill: float | None = None
        for i in range(AFTER):
            msg_id = f"after-{i}"
            failed_since: float | None = None
            while True:
                attempt = time.monotonic()
                try:
                    ack = await js.publish(
                        f"t.r3.{i % 7}", msg_id.encode(), headers={"Nats-Msg-Id": msg_id}
                    )
                    break
                except TRANSIENT as exc:
                    failures[type(exc).__name__] += 1
                    if failed_since is None:
                        failed_since = attempt
                    if retrying_s + (time.monotonic() - failed_since) > RETRY_BUDGET_S:
                        raise
                    await asyncio.sleep(0.1)
            if failed_since is not None:
                retrying_s += time.monotonic() - failed_since
            if first_ack_after_kill is None:
                first_ack_after_kill = time.monotonic()
            assert ack.stream == STREAM
            duplicates += bool(ack.duplicate)
            acked.append(msg_id)
        assert first_ack_after_kill is not None
        published_at = time.monotonic()

        info = await retry(lambda: js.stream_info(STREAM))
        assert info.cluster is not None
        new_leader = info.cluster.leader
        assert new_leader in cluster
        assert new_leader != victim
        assert info.state.messages == BEFORE + AFTER, info.state

        # Read everything back through a durable pull consumer. Creating it goes through the meta
        # leader (maybe the killed node too), and its R3 Raft group, one peer down, may take an
        # election timeout (several seconds) to get a leader.
        sub = await retry(
            lambda: js.pull_subscribe(
                "t.r3.>",
                durable="readback",
                stream=STREAM,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT),
            )
        )
        consumer_s = time.monotonic() - published_at
        read: list[str] = []
        sequences: list[int] = []
        read_deadline = time.monotonic() + 15
        while len(read) < BEFORE + AFTER and time.monotonic() < read_deadline:
            try:
                msgs = await sub.fetch(100, timeout=2)
            except TRANSIENT:
                continue
            for msg in msgs:
                assert msg.headers is not None
                read.append(msg.headers["Nats-Msg-Id"])
                assert msg.data == read[-1].encode()
                sequences.append(msg.metadata.sequence.stream)
                await msg.ack()
        try:  # nothing beyond what was acknowledged
            extra = len(await sub.fetch(1, timeout=0.5))
        except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
            extra = 0
        read_s = time.monotonic() - published_at

        print(
            f"killed {victim} (stream leader; client was on {client_on}), "
            f"new stream leader {new_leader}; meta leader before the kill {meta_before}, "
            f"after {await asyncio.to_thread(meta_leader, cluster)}\n"
            f"acked before kill: {BEFORE}, acked after kill: {len(acked) - BEFORE} "
            f"(duplicate acks on retry: {duplicates})\n"
            f"stream unwritable for {first_ack_after_kill - killed_at:.2f} s (kill to first ack; "
            f"{retrying_s:.2f} s spent retrying); failed attempts: {dict(failures) or 'none'}\n"
            f"messages read back: {len(read)} (distinct {len(set(read))}) in {read_s:.2f} s "
            f"({consumer_s:.2f} s of it creating the R3 consumer), "
            f"stream messages: {info.state.messages}"
        )

        counts = Counter(read)
        assert [i for i, n in counts.items() if n > 1] == []
        assert extra == 0
        assert set(read) == set(acked)
        assert len(read) == len(acked) == BEFORE + AFTER
        assert sequences == list(range(1, BEFORE + AFTER + 1))
    finally:
        await nc.close()


def routes_seen(nodes: dict[str, Node]) -> dict[str, set[str]]:
    """For each node, the server names it has a route to."""
    seen: dict[str, set[str]] = {}
    for name, node in nodes.items():
        status, routez = node.monitor("/routez")
        assert status == 200, f"{name} /routez answered {status}"
        seen[name] = {r.get("remote_name", "?") for r in (routez or {}).get("routes") or []}
    return seen


def start_fourth(
    tmp_path: Path,
    label: str,
    entry: Node,
    *,
    credentials: str,
    cert: tuple[Path, Path] | None,
    ca: Path,
) -> Node:
    """A fourth server that solicits a route to `entry`: with `credentials` ("user:pass@" or
    ""), presenting `cert` (None: no TLS on its route at all) and trusting `ca`. Its own client
    port is open (no auth), so a subscriber there sees whatever the cluster forwards to it."""
    client_port, monitor_port, cluster_port = distinct_free_ports(3)
    node = Node(
        name=f"rogue-{label}",
        client_port=client_port,
        monitor_port=monitor_port,
        cluster_port=cluster_port,
        store_dir=tmp_path / "unused",
        config_file=tmp_path / f"rogue-{label}.conf",
        log_file=tmp_path / f"rogue-{label}.log",
    )
    route_tls = ""
    if cert is not None:
        route_tls = (
            f'  tls {{ cert_file: "{cert[0]}", key_file: "{cert[1]}", ca_file: "{ca}", '
            "verify: true, timeout: 2 }\n"
        )
    node.config_file.write_text(
        f'server_name: "{node.name}"\n'
        f'listen: "127.0.0.1:{client_port}"\n'
        f'http: "127.0.0.1:{monitor_port}"\n'
        "cluster {\n"
        '  name: "jejaring"\n'
        f'  listen: "127.0.0.1:{cluster_port}"\n'
        f"{route_tls}"
        f'  routes: ["nats-route://{credentials}127.0.0.1:{entry.cluster_port}"]\n'
        "}\n"
    )
    with node.log_file.open("wb") as log:
        node.process = subprocess.Popen(
            [str(NATS_SERVER), "-c", str(node.config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=NODE_ENV,
            preexec_fn=die_with_parent,
        )
    deadline = time.monotonic() + 10
    while node.monitor("/healthz")[0] != 200:
        assert node.process.poll() is None, node.log_tail()
        assert time.monotonic() < deadline, node.log_tail()
        time.sleep(0.05)
    return node


async def leaked_to(rogue: Node, cluster: dict[str, Node], tls: ssl.SSLContext) -> list[bytes]:
    """Subscribe on the fourth server, publish on each cluster node for 3 s: what arrived."""
    received: list[bytes] = []
    listener = await nats.connect(f"nats://127.0.0.1:{rogue.client_port}", error_cb=ignore)
    publisher = await nats.connect(
        servers=[node.url for node in cluster.values()],
        tls=tls,
        user=TEST_USER,
        password=TEST_PASSWORD,
        error_cb=ignore,
    )
    try:

        async def got(msg: Any) -> None:
            received.append(msg.data)

        await listener.subscribe("t.r3.>", cb=got)
        await listener.flush()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not received:
            await publisher.publish("t.r3.secret", b"victim name would be here")
            await publisher.flush()
            await asyncio.sleep(0.2)
    finally:
        await listener.close()
        await publisher.close()
    return received


async def test_a_route_needs_the_route_password_and_a_certificate_from_the_ca(
    cluster: dict[str, Node], tmp_path: Path
) -> None:
    site = tmp_path / "tls"
    password = route_password(site / "routes.conf")
    good = f"route:{password}@"
    own_cert = (site / "route.pem", site / "route-key.pem")
    impostor = make_site_certs(
        tmp_path / "impostor", ["127.0.0.1"], route_hosts=["127.0.0.1"], backdate=CLOCKS_APART
    )
    other_cert = (impostor.files["route"], impostor.files["route-key"])
    entry = cluster["nats-1"]
    before = routes_seen(cluster)
    assert before == {n: set(NODES) - {n} for n in NODES}

    # What the entry node logs when it turns each one away: the refusal is for that reason.
    refused: dict[str, tuple[str, tuple[Path, Path] | None, str]] = {
        "no-password": ("", own_cert, "Authentication Failure"),
        "wrong-password": ("route:guessed-password-0001@", own_cert, "Authentication Failure"),
        "other-ca": (good, other_cert, "certificate signed by unknown authority"),
        "no-tls": (good, None, "first record does not look like a TLS handshake"),
    }
    for label, (credentials, cert, reason) in refused.items():
        logged = entry.log_file.stat().st_size
        rogue = start_fourth(
            tmp_path, label, entry, credentials=credentials, cert=cert, ca=site / "ca.pem"
        )
        try:
            leaked = await leaked_to(rogue, cluster, trust(tmp_path))
            assert leaked == [], f"{label}: a message reached the fourth server"
            assert routes_seen(cluster) == before, f"{label}: the cluster took a route"
            assert rogue.monitor("/routez")[1]["num_routes"] == 0, label
            with entry.log_file.open("rb") as log:
                log.seek(logged)
                assert reason.encode() in log.read(), f"{label}: {entry.log_tail()}"
        finally:
            rogue.kill()

    # Control: with the password and the site's certificate, the same server joins and receives.
    member = start_fourth(
        tmp_path, "member", entry, credentials=good, cert=own_cert, ca=site / "ca.pem"
    )
    try:
        assert await leaked_to(member, cluster, trust(tmp_path)), "the member received nothing"
        # the other two nodes route to the new member on their own schedule
        deadline = time.monotonic() + 10
        while not all("rogue-member" in names for names in routes_seen(cluster).values()):
            assert time.monotonic() < deadline, "not every node routes to the member in 10 s"
            await asyncio.sleep(0.2)
    finally:
        member.kill()
    # The three nodes still form the JetStream cluster.
    assert wait_cluster_ready(cluster) in cluster
