"""The embedded stack: nats-server, the four services and the web app as supervised local
processes.

Everything lives under one data directory (`.data/` by default): JetStream in `nats/`, one
SQLite file per service (and the web app's sessions in `web.db`), logs in `logs/`. A child that dies is restarted; Ctrl-C (or SIGTERM)
stops the services, then nats-server, and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import nats
from nats.aio.client import Client as NATS

from jejaring.cli import natsconfig
from jejaring.cli.preload import Forked, Launcher, LauncherError, shared_environment
from jejaring.shared import crypto
from jejaring.shared.messaging.connection import client_tls, inbox_prefix, transport
from jejaring.shared.messaging.natsserver import (
    NatsServer,
    NatsServerError,
    die_with_parent,
    encrypted_store,
    new_jetstream_key,
    port_free,
    server_config,
)
from jejaring.shared.messaging.provision import contract_streams, ensure_consumer, ensure_stream
from jejaring.shared.web.identity import IDENTITY_KEY_ENV, IDENTITY_PUBLIC_KEY_ENV, public_key_of
from jejaring.shared.web.tokens import new_token

SERVICES = ("intake", "referral", "notify", "report")
# The web app talks to the services over HTTP only: no NATS, no service secret.
PROCESSES = (*SERVICES, "web")


@dataclass(frozen=True)
class StackConfig:
    """Where the embedded stack runs; every value overridable by a JEJARING_* variable."""

    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    ports: dict[str, int] = field(
        default_factory=lambda: {
            "intake": 8000,
            "referral": 8001,
            "notify": 8002,
            "report": 8003,
            "web": 8080,
        }
    )
    ready_timeout_s: float = 60.0
    # How often the NATS configuration is regenerated from referral's partner keys: a revoked
    # or expired key, or a deactivated partner, is refused within this (plus a reload).
    auth_sync_s: float = 15.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackConfig:
        env = dict(os.environ if env is None else env)

        def port(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None:
                return default
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise StackError(f"{name}={raw!r} is not a port number (1-65535)")
            return int(raw)

        def seconds(name: str, default: float) -> float:
            raw = env.get(name)
            try:
                value = default if raw is None else float(raw)
            except ValueError:
                value = -1.0
            if not 0 < value <= 3600:
                raise StackError(f"{name}={raw!r} is not a number of seconds (0-3600)")
            return value

        return cls(
            data_dir=Path(env.get("JEJARING_DATA_DIR", ".data")),
            host=env.get("JEJARING_HOST", "127.0.0.1"),
            nats_port=port("JEJARING_NATS_PORT", 4222),
            nats_monitor_port=port("JEJARING_NATS_MONITOR_PORT", 8222),
            ports={
                "intake": port("JEJARING_INTAKE_PORT", 8000),
                "referral": port("JEJARING_REFERRAL_PORT", 8001),
                "notify": port("JEJARING_NOTIFY_PORT", 8002),
                "report": port("JEJARING_REPORT_PORT", 8003),
                "web": port("JEJARING_WEB_PORT", 8080),
            },
            auth_sync_s=seconds("JEJARING_NATS_AUTH_SYNC_S", 15.0),
        )

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host}:{self.nats_port}"

    def admin_token(self, service: str) -> str:
        """`service`'s own admin token (INTAKE_ADMIN_TOKEN, …), or one made on first start and
        kept (0600) in the data dir: each service accepts only its own."""
        if token := os.environ.get(admin_token_variable(service)):
            return token
        return read_or_create_secret(admin_token_file(self.data_dir, service))

    @property
    def identity_key_file(self) -> Path:
        return self.data_dir / "identity-key"

    def identity_key(self) -> str:
        """JEJARING_IDENTITY_KEY (intake signs people's access tokens with the key derived
        from it), or one made on first start and kept (0600) in the data dir."""
        if key := os.environ.get(IDENTITY_KEY_ENV):
            return key
        return read_or_create_secret(self.identity_key_file)

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.ports['web']}"

    @property
    def nats_secrets_file(self) -> Path:
        return self.data_dir / "nats-secrets.json"

    @property
    def nats_partners_file(self) -> Path:
        return self.data_dir / "nats-partner-keys.json"

    @property
    def nats_config_file(self) -> Path:
        return (self.data_dir / "nats.conf").resolve()

    @property
    def nats_pid_file(self) -> Path:
        return self.data_dir / "nats.pid"

    @property
    def referral_url(self) -> str:
        return f"http://{self.host}:{self.ports['referral']}"

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process starts with (its own prefix, e.g. INTAKE_)."""
        prefix = service.upper() + "_"
        env = dict(os.environ)
        env.setdefault(prefix + "DATA_DIR", str(self.data_dir.resolve()))
        env[prefix + "HOST"] = self.host
        env[prefix + "PORT"] = str(self.ports[service])
        env.setdefault("PYTHONUNBUFFERED", "1")
        # Only intake holds the signing secret; the others verify with its public key.
        env.pop(IDENTITY_KEY_ENV, None)
        env.pop(IDENTITY_PUBLIC_KEY_ENV, None)
        if service != "intake":  # the keyring's master keys are intake's alone
            for name in ("INTAKE_MASTER_KEYS", "INTAKE_MASTER_KEYS_FILE"):
                env.pop(name, None)
        if service == "web":
            for name in SERVICES:  # the web app acts only as people do, and verifies no token
                env.pop(admin_token_variable(name), None)
            for name in SERVICES:
                env.setdefault(f"WEB_{name.upper()}_URL", f"http://{self.host}:{self.ports[name]}")
            if "JEJARING_PUBLIC_URL" not in env:
                env.setdefault("WEB_PUBLIC_URL", self.web_url)
            return env
        env.setdefault(prefix + "NATS_URL", self.nats_url)
        if service == "notify" and "JEJARING_PUBLIC_URL" not in env:
            env.setdefault("NOTIFY_PUBLIC_URL", self.web_url)  # alert links open the web app
        for name in SERVICES:  # a service holds its own admin token, never another's
            env.pop(admin_token_variable(name), None)
        env[admin_token_variable(service)] = self.admin_token(service)
        if service == "intake":
            env[IDENTITY_KEY_ENV] = self.identity_key()
            # The master keys of the keyring (crypto-shredding): made once, 0600, in the data dir.
            if not env.get("INTAKE_MASTER_KEYS") and not env.get("INTAKE_MASTER_KEYS_FILE"):
                master = crypto.ensure_key_file(self.data_dir / crypto.MASTER_KEYS_FILE)
                env["INTAKE_MASTER_KEYS_FILE"] = str(master.resolve())
        env[IDENTITY_PUBLIC_KEY_ENV] = public_key_of(self.identity_key())
        env[prefix + "NATS_USER"] = natsconfig.service_user(service)
        env[prefix + "NATS_PASSWORD"] = natsconfig.service_secrets(self.nats_secrets_file)[service]
        return env

    def nats_server(self) -> NatsServer:
        """The embedded nats-server (not started)."""
        return NatsServer(
            store_dir=(self.data_dir / "nats").resolve(),
            host=self.host,
            port=self.nats_port,
            monitor_port=self.nats_monitor_port,
            config_file=self.nats_config_file,
            log_file=(self.data_dir / "logs" / "nats.log").resolve(),
            encryption_key=self.jetstream_key(),
        )

    def jetstream_key(self) -> str:
        """JetStream's encryption key, made once (0600). Never made anew for a store already
        encrypted: nats-server would start without its streams, and provisioning would make
        them empty over the old ones."""
        path = self.data_dir / "nats-jetstream-key"
        if not path.exists() and encrypted_store(self.data_dir / "nats"):
            raise StackError(
                f"{path} is missing but {self.data_dir / 'nats'} is encrypted: put the key back "
                "(from where you keep a copy), or move the nats folder away to start empty"
            )
        return read_or_create_secret(path, make=new_jetstream_key)

    def nats_hashes(self) -> dict[str, str]:
        """bcrypt hashes of the NATS passwords the stack made for its services, provisioner
        and operator."""
        secrets = natsconfig.service_secrets(self.nats_secrets_file)
        return {
            name: natsconfig.bcrypt_hash(p, natsconfig.GENERATED_ROUNDS)
            for name, p in secrets.items()
        }

    def auth_sync(self) -> natsconfig.AuthSync:
        """Keeps the embedded server's whole configuration in step with referral's keys."""
        nats = self.nats_server()

        def render(keys: list[natsconfig.PartnerKey]) -> str:
            return server_config(
                host=nats.host,
                port=nats.port,
                monitor_port=nats.monitor_port,
                store_dir=nats.store_dir,
                extra=natsconfig.authorization(self.nats_hashes(), keys),
                encrypted=nats.encryption_key is not None,
            )

        return natsconfig.AuthSync(
            out=self.nats_config_file,
            render=render,
            referral_url=self.referral_url,
            admin_token=self.admin_token("referral"),
            cache=self.nats_partners_file,
            reload=self.reload_nats,
        )

    def regenerate_nats_config(self) -> tuple[int, bool, str | None]:
        """Refresh partner keys from referral, rewrite the config and reload the running
        server if it changed: (keys in force, changed, why referral did not answer)."""
        sync = self.auth_sync()
        changed, problem = sync.once()
        return len(sync.cached()), changed, problem

    def write_nats_config(self, nats: NatsServer) -> Path:
        """The embedded server's configuration: secured like production, with the partner
        keys last fetched (still valid ones only)."""
        sync = self.auth_sync()
        nats.store_dir.mkdir(parents=True, exist_ok=True)
        natsconfig.write_private(self.nats_config_file, sync.render(sync.cached()))
        nats.config_file = self.nats_config_file
        return self.nats_config_file

    def nats_password(self, identity: str) -> str | None:
        """An identity's NATS password: its variable (NATS_<IDENTITY>_PASSWORD), else the one
        `jejaring up` made; None when neither is there."""
        if password := os.environ.get(natsconfig.password_env(identity)):
            return password
        if self.nats_secrets_file.exists():
            return natsconfig.service_secrets(self.nats_secrets_file)[identity]
        return None

    def provision(self) -> list[str]:
        """Create or update the contract streams and every service's consumers, as the
        provisioner (the services themselves may not)."""
        password = natsconfig.service_secrets(self.nats_secrets_file)[natsconfig.PROVISIONER]
        return asyncio.run(provision(self.nats_url, password))

    def reload_nats(self) -> bool:
        """Ask the running nats-server to reload its configuration (SIGHUP)."""
        return signal_reload(self.nats_pid_file)


def signal_reload(pid_file: Path | None = None, pid: int | None = None) -> bool:
    """SIGHUP to the nats-server whose pid is given or in `pid_file`: it reloads its
    configuration, and closes the connections of users no longer in it."""
    try:
        if pid is None and pid_file is not None:
            pid = int(pid_file.read_text())
        if pid is None:
            return False
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True


async def connect_once(
    url: str, identity: str, password: str, *, ca_file: Path | None = None
) -> NATS:
    """A command's connection as `identity` (the provisioner, the operator): over TLS trusting
    `ca_file` (or for a tls:// URL), no reconnection, errors raised rather than printed."""

    async def raised_instead(_exc: Exception) -> None:
        """nats-py would print a traceback; the caller reports the error that is raised."""

    return await nats.connect(
        **transport(url, client_tls(ca_file) if ca_file else None),
        name=f"jejaring-{identity}",
        user=natsconfig.service_user(identity),
        password=password,
        inbox_prefix=inbox_prefix(identity),
        connect_timeout=5,
        allow_reconnect=False,
        # nats-py retries even a first connection (60 times, 2 s apart, by default): a command
        # says within seconds that NATS does not answer (`provision` has its own --wait)
        max_reconnect_attempts=2,
        reconnect_time_wait=1,
        error_cb=raised_instead,
    )


async def provision(
    url: str, password: str, *, replicas: int = 1, ca_file: Path | None = None
) -> list[str]:
    """Connect as the provisioner (over TLS trusting `ca_file`, if given, or for a tls:// URL);
    ensure the contract streams and every service's durable consumers; return one line per
    stream or consumer (created, updated, unchanged)."""
    nc = await connect_once(url, natsconfig.PROVISIONER, password, ca_file=ca_file)
    try:
        js = nc.jetstream(timeout=10)
        done = [
            f"stream {spec.name}: {await ensure_stream(js, spec)}"
            for spec in contract_streams(replicas)
        ]
        for consumer in natsconfig.service_consumers():
            outcome = await ensure_consumer(js, consumer)
            done.append(f"consumer {consumer.stream}/{consumer.durable}: {outcome}")
        return done
    finally:
        await nc.close()


def tighten(data_dir: Path) -> None:
    """`data_dir` 0700, and what an older run (before umask 077, main.py) left readable by
    others made its owner's alone: databases, logs, the file outbox, the secrets."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in (data_dir, *data_dir.rglob("*")):
        mode = path.lstat().st_mode
        if mode & 0o077 and not stat.S_ISLNK(mode):
            path.chmod(stat.S_IMODE(mode) & 0o700)


def admin_token_variable(service: str) -> str:
    """The environment variable holding `service`'s admin token, e.g. REFERRAL_ADMIN_TOKEN."""
    return f"{service.upper()}_ADMIN_TOKEN"


def admin_token_file(data_dir: Path, service: str) -> Path:
    """Where the embedded stack keeps `service`'s admin token, e.g. .data/admin-token-referral."""
    return data_dir / f"admin-token-{service}"


def read_or_create_secret(path: Path, make: Callable[[], str] = new_token) -> str:
    """One of the embedded stack's secrets (the admin token, the identity key), created once
    (by `make`) with owner-only permissions."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


class StackError(RuntimeError):
    """A reason the stack cannot start, as one line for the operator."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | Forked | None = None
    restarts: int = 0
    next_start: float = 0.0

    def start(self, launcher: Launcher | None = None) -> None:
        """Fork it from the launcher, or start its own `python -m` without one."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if launcher is not None:
            self.process = launcher.start(self.name, self.env, self.log_path)
            return
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def check_ports(config: StackConfig) -> None:
    """Refuse to start, with one clear line, when a port the stack needs is taken."""
    wanted = {
        "nats-server": (config.nats_port, "JEJARING_NATS_PORT"),
        "nats-server monitoring": (config.nats_monitor_port, "JEJARING_NATS_MONITOR_PORT"),
    }
    for service, port in config.ports.items():
        wanted[f"{service} HTTP"] = (port, f"JEJARING_{service.upper()}_PORT")
    for what, (port, variable) in wanted.items():
        if not port_free(config.host, port):
            raise StackError(
                f"port {port} ({what}) on {config.host} is already in use; stop whatever "
                f"listens there or set {variable} to another port"
            )


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The HTTP status of GET url, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


class Stack:
    """Starts, supervises and stops the embedded stack."""

    def __init__(self, config: StackConfig, out: TextIO = sys.stdout) -> None:
        self.config = config
        self.out = out
        self.logs = config.data_dir / "logs"
        self.nats = config.nats_server()
        self.children: dict[str, Child] = {
            name: Child(
                name=name,
                argv=[sys.executable, "-m", f"jejaring.{name}"],
                env=config.service_env(name),
                log_path=self.logs / f"{name}.log",
            )
            for name in PROCESSES
        }
        self.launcher: Launcher | None = None
        self._stopping = False
        self.sync = config.auth_sync()
        self._sync_problem: str | None = None
        self._next_sync = 0.0

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def start(self) -> float:
        """Start everything and wait until each service is ready; return seconds taken."""
        started = time.monotonic()
        check_ports(self.config)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._start_launcher()  # it imports while nats-server starts
        self.config.write_nats_config(self.nats)
        self._start_nats()
        for child in self.children.values():
            self._start_child(child)
        self.wait_ready()
        # Partner keys registered or revoked while the stack was down: into the config.
        self.sync_auth()
        return time.monotonic() - started

    def sync_auth(self) -> None:
        """Regenerate the NATS configuration from referral's keys; reload only on a change."""
        changed, problem = self.sync.once()
        if problem and problem != self._sync_problem:
            self.say(f"warning: partner NATS keys not refreshed ({problem}); using the last list")
        self._sync_problem = problem
        if changed:
            self.say("NATS authorization changed (partner keys); nats-server reloaded")
        self._next_sync = time.monotonic() + self.config.auth_sync_s

    def _start_launcher(self) -> None:
        try:
            envs = [child.env for child in self.children.values()]
            self.launcher = Launcher(self.logs / "launcher.log", shared_environment(envs))
        except LauncherError as exc:
            self.say(f"note: {exc}; each service imports on its own (slower start)")

    def _start_child(self, child: Child) -> None:
        """Fork it from the launcher; with no launcher (or one that failed), its own Python."""
        if self.launcher is not None:
            try:
                child.start(self.launcher)
                return
            except LauncherError as exc:
                self.say(f"note: {exc}; starting the services with their own Python from now on")
                self.launcher.close()
                self.launcher = None
        child.start()

    def _start_nats(self) -> None:
        try:
            self.nats.start()
        except NatsServerError as exc:
            raise StackError(f"{exc}; see {self.nats.log_file}") from None
        assert self.nats.process is not None
        self.config.nats_pid_file.write_text(str(self.nats.process.pid))
        try:
            self.config.provision()
        except Exception as exc:
            raise StackError(f"provisioning NATS failed ({type(exc).__name__}: {exc})") from None

    def readyz(self, service: str) -> str:
        return f"http://{self.config.host}:{self.config.ports[service]}/readyz"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.ready_timeout_s
        waiting = set(PROCESSES)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                child = self.children[name]
                if not child.alive:
                    code = child.process.returncode if child.process else None
                    raise StackError(
                        f"{name} exited during start (code {code}); see {child.log_path}"
                    )
                if http_status(self.readyz(name)) == 200:
                    waiting.discard(name)
            time.sleep(0.1)
        if waiting:
            names = ", ".join(sorted(waiting))
            limit = self.config.ready_timeout_s
            raise StackError(f"not ready after {limit:.0f} s: {names}; see {self.logs}/")

    def describe(self, seconds: float) -> None:
        c = self.config
        self.say(f"Jejaring is running (ready in {seconds:.1f} s). Ctrl-C stops everything.")
        self.say("")
        self.say(f"  web           {c.web_url}   sign in there (Bahasa Indonesia, English)")
        self.say(f"  nats-server   {c.nats_url}   monitoring http://{c.host}:{c.nats_monitor_port}")
        for name in SERVICES:
            base = f"http://{c.host}:{c.ports[name]}"
            self.say(f"  {name:<12}  {base}   docs {base}/docs   ready {base}/readyz")
        self.say("")
        self.say(
            f"  data     {c.data_dir.resolve()}/  (JetStream in nats/, one SQLite file per service)"
        )
        self.say(
            f"  logs     {self.logs.resolve()}/  (nats.log, intake.log, referral.log, notify.log, "
            "report.log, web.log, launcher.log)"
        )

    def supervise(self, should_stop: Callable[[], bool]) -> None:
        """Restart any child that dies (with backoff) until asked to stop."""
        while not should_stop():
            now = time.monotonic()
            if self.nats.process is not None and self.nats.process.poll() is not None:
                self.say(f"nats-server exited (code {self.nats.process.returncode}); restarting it")
                try:
                    self._start_nats()
                    self.say("nats-server is back; the services reconnect by themselves")
                except StackError as exc:
                    self.say(f"nats-server did not restart: {exc}; retrying")
            for child in self.children.values():
                if child.alive or should_stop():
                    continue
                code = child.process.returncode if child.process else None
                if code == os.EX_CONFIG:  # a service found provisioning drift
                    raise StackError(
                        f"{child.name} stopped on a configuration problem it cannot fix "
                        f"(provisioning drift); see {child.log_path}"
                    )
                if child.next_start == 0.0:
                    delay = min(2.0**child.restarts, 30.0)
                    child.next_start = now + delay
                    self.say(f"{child.name} exited (code {code}); restarting in {delay:.0f} s")
                elif now >= child.next_start:
                    child.restarts += 1
                    child.next_start = 0.0
                    self._start_child(child)
            if now >= self._next_sync and not should_stop():
                self.sync_auth()
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM the services, then nats-server; SIGKILL what is still there after 10 s."""
        for child in self.children.values():
            if child.alive and child.process is not None:
                child.process.terminate()
        deadline = time.monotonic() + 10
        for child in self.children.values():
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        if self.launcher is not None:
            self.launcher.close()
        self.nats.stop()


def up() -> int:
    """`jejaring up`: the stack this environment describes, until Ctrl-C; the exit code."""
    try:
        config = StackConfig.from_env()
    except StackError as exc:
        print(f"jejaring up: {exc}", file=sys.stderr, flush=True)
        return 2
    return run_stack(config)


def run_stack(config: StackConfig, out: TextIO = sys.stdout) -> int:
    """`jejaring up`: start, describe, supervise until SIGINT/SIGTERM, stop. Returns exit code."""
    stop_requested = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    tighten(config.data_dir)
    try:
        stack = Stack(config, out)
    except StackError as exc:
        print(f"jejaring up: {exc}", file=sys.stderr, flush=True)
        return 1
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        seconds = stack.start()
        stack.describe(seconds)
        stack.supervise(lambda: stop_requested)
        stack.say("Stopping…")
        return 0
    except StackError as exc:
        print(f"jejaring up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stop_requested:
            stack.say("Stopped. No process left behind.")
