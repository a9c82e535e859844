"""The embedded stack's launcher: what every service imports, imported once, then each service
forked from it.

Five Pythons importing the same FastAPI, SQLAlchemy, pydantic and nats-py took about
0.6 s of CPU each before `jejaring up` could say it was ready, on two cores. `jejaring up` starts
this process first (`python -m jejaring.cli.preload FD`); it imports `PRELOAD` while nats-server
starts, then forks a service whenever the stack asks on the socket FD.

It never holds a secret. It starts with only what all five services are given alike (paths,
locale, the operator's own settings), and a request carries no environment, only two file
descriptors: the service's log and the read end of a pipe on which the stack writes that
service's environment (its admin token, NATS password, and for intake the signing key). Only
the forked service reads it, so referral's memory never held intake's key, as when each service
was its own `python -m`.

Each service is forked twice: the intermediate exits at once, so the service is reparented to
`jejaring up` (a child subreaper), which waits for it, restarts it and stops it like any child.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from jejaring.shared.messaging.natsserver import die_with_parent, terminate_with_parent

setproctitle: ModuleType | None
try:  # imported before any fork: it moves the environment to make room for the title
    import setproctitle
except ImportError:  # pragma: no cover - a dependency of jejaring-cli
    setproctitle = None

# What all five import (the shared plumbing, and through it the libraries): about 90 % of the
# modules each one loads. A service's own modules are imported in its own process.
PRELOAD = (
    "jejaring.shared.web.serve",
    "jejaring.shared.web.identity",
    "jejaring.shared.db",
    "jejaring.shared.migrate",
    "jejaring.shared.contract.events",
    "jejaring.shared.messaging.natsserver",
    "jejaring.shared.metrics",
    "jejaring.shared.tracing",
    "jejaring.shared.region",
)
MAX_MESSAGE = 4096
_PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class Request:
    """A service to start: its name, the pid it must end up the child of, and its two fds."""

    service: str
    parent: int
    log_fd: int
    env_fd: int


def shared_environment(environments: list[dict[str, str]]) -> dict[str, str]:
    """What every one of `environments` holds alike: all the launcher starts with. A variable
    one service is given and another is not (an admin token, a NATS password, the signing key)
    or is given another value of (a port) stays out."""
    first, *rest = environments
    return {k: v for k, v in first.items() if all(e.get(k) == v for e in rest)}


def main() -> None:
    """`python -m jejaring.cli.preload FD`: import PRELOAD, then fork what the stack asks for."""
    channel = socket.socket(fileno=int(sys.argv[1]))
    gc.disable()  # as a service's own __main__ does while it imports
    for module in PRELOAD:
        importlib.import_module(module)
    gc.freeze()
    request = serve(channel)
    if request is not None:  # here only in a forked service
        sys.exit(run_service(request))


def serve(channel: socket.socket) -> Request | None:
    """Fork a service for each request until the stack closes the socket (then None). Returns
    the request in the forked service, with the launcher's socket closed."""
    while True:
        message, fds, _flags, _addr = socket.recv_fds(channel, MAX_MESSAGE, 2)
        if not message:
            return None
        asked = json.loads(message)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            channel.send(json.dumps({"error": "a request carries a log fd and an env fd"}).encode())
            continue
        request = Request(asked["service"], int(asked["parent"]), fds[0], fds[1])
        try:
            pid = _fork_twice(channel, request)
        except _InService:
            return request
        except OSError as exc:
            pid, problem = None, f"fork failed ({exc.strerror})"
        else:
            problem = "the service could not be forked"
        os.close(request.log_fd)  # the service has its own copies
        os.close(request.env_fd)
        channel.send(json.dumps({"pid": pid} if pid else {"error": problem}).encode())


class _InService(Exception):
    """Raised in the forked service, to leave the launcher's loop."""


def _fork_twice(channel: socket.socket, request: Request) -> int | None:
    """Fork an intermediate that forks the service and exits; the service's pid (None when the
    intermediate could not fork it). Raises _InService in the service."""
    sys.stdout.flush()
    sys.stderr.flush()
    reply_r, reply_w = os.pipe()
    try:
        intermediate = os.fork()
    except OSError:
        os.close(reply_r)
        os.close(reply_w)
        raise
    if intermediate == 0:
        try:
            os.close(reply_r)
            service = os.fork()
            if service == 0:
                os.close(reply_w)
                channel.close()
                raise _InService
            os.write(reply_w, str(service).encode())
        except _InService:
            raise
        except BaseException:  # the intermediate only ever exits
            os._exit(1)
        os._exit(0)
    os.close(reply_w)
    with os.fdopen(reply_r, "rb") as reply:
        pid = reply.read()
    os.waitpid(intermediate, 0)  # once it is gone, the service is the stack's child
    return int(pid) if pid else None


def run_service(request: Request) -> int:
    """In the forked service: become `python -m jejaring.<service>`; its exit code."""
    os.setsid()  # Ctrl-C goes to `jejaring up` only, which stops the services in order
    deadline = time.monotonic() + 5
    while os.getppid() != request.parent and time.monotonic() < deadline:
        time.sleep(0.001)  # the intermediate has not exited yet
    terminate_with_parent()  # now that the parent is `jejaring up`
    if os.getppid() != request.parent:  # `jejaring up` is gone already
        return 1
    with open(os.devnull, "rb") as devnull:
        os.dup2(devnull.fileno(), 0)
    os.dup2(request.log_fd, 1)
    os.dup2(request.log_fd, 2)
    os.close(request.log_fd)
    name = f"jejaring.{request.service}"
    if setproctitle is not None:  # `ps` shows it as its own `python -m` (before the environment
        setproctitle.setproctitle(f"{sys.executable} -m {name}")  # changes: it needs it intact)
    with os.fdopen(request.env_fd, "rb") as pipe:
        environment = json.loads(pipe.read())
    os.environ.clear()
    os.environ.update(environment)
    del sys.argv[1:]  # the launcher's socket number: the service takes no arguments
    try:
        runpy.run_module(name, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0


# --- `jejaring up`'s end ---------------------------------------------------------------------


class LauncherError(RuntimeError):
    """The launcher could not start a service (the stack then starts it with `python -m`)."""


class Launcher:
    """The launcher process, as `jejaring up` starts and asks it."""

    def __init__(self, log_path: Path, env: dict[str, str], *, timeout: float = 30.0) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1) != 0:
            raise LauncherError("this system cannot adopt the services (PR_SET_CHILD_SUBREAPER)")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with open(log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-u", "-m", __name__, str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=die_with_parent,
                )
        except OSError as exc:
            ours.close()
            raise LauncherError(f"the launcher did not start ({exc})") from None
        finally:
            theirs.close()
        ours.settimeout(timeout)  # the first answer waits for the imports
        self.channel = ours

    def start(self, service: str, env: dict[str, str], log_path: Path) -> Forked:
        """Fork `service` with `env` as its whole environment, writing to `log_path`."""
        env_r, env_w = os.pipe()
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            asked = json.dumps({"service": service, "parent": os.getpid()}).encode()
            socket.send_fds(self.channel, [asked], [log_fd, env_r])
            with os.fdopen(env_w, "wb") as pipe:
                env_w = -1
                pipe.write(json.dumps(env).encode())
            answer = json.loads(self.channel.recv(MAX_MESSAGE) or b"{}")
        except (OSError, ValueError) as exc:
            raise LauncherError(f"the launcher did not answer ({type(exc).__name__})") from None
        finally:
            os.close(log_fd)
            os.close(env_r)
            if env_w != -1:
                os.close(env_w)
        if "pid" not in answer:
            raise LauncherError(answer.get("error", "the launcher exited"))
        return Forked(int(answer["pid"]))

    def close(self) -> None:
        """End the launcher (it exits when its socket closes)."""
        self.channel.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Forked:
    """A service the launcher forked, now this process's child: the part of Popen the stack
    uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    main()
