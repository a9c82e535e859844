"""`jejaring up`, the embedded stack, as an operator runs it: ready, survives a NATS kill,
and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import nats
from jwt.warnings import InsecureKeyLengthWarning

from jejaring.shared.web import identity
from jejaring.testing import THREE_WAY_CASE, wait_status

JEJARING = str(Path(sys.executable).parent / "jejaring")
SERVICES = ("intake", "referral", "notify", "report")
REPO = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> set[int]:
    """Every process whose parent is `pid` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def command_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode()


def processes_of(stack_pid: int) -> dict[str, int]:
    """The stack's children by what `ps` shows: nats-server, the launcher, each service."""
    found = {}
    for pid in children_of(stack_pid):
        command = command_of(pid).split()
        if len(command) < 2:  # exited, not yet reaped
            continue
        if "nats-server" in command[0]:
            found["nats-server"] = pid
        elif "jejaring.cli.preload" in command:
            found["launcher"] = pid
        elif command[-2] == "-m" and command[-1].startswith("jejaring."):
            found[command[-1].removeprefix("jejaring.")] = pid
    return found


def memory_of(pid: int, *, heap_only: bool = False) -> bytes:
    """The readable memory of process `pid` (/proc/<pid>/mem), its regions joined by a NUL:
    what a process holds, not only what its environment showed when it started."""
    regions = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, permissions = line.split()[:2]
            name = line.rstrip().rsplit(maxsplit=1)[-1]
            if "r" not in permissions or name in ("[vvar]", "[vsyscall]"):
                continue
            if heap_only and name != "[heap]":
                continue
            low, high = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(low)
                regions.append(mem.read(high - low))
            except (OSError, OverflowError, ValueError):
                continue
    return b"\0".join(regions)


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def service_ports(env: dict[str, str]) -> list[int]:
    return [int(env[f"JEJARING_{s.upper()}_PORT"]) for s in (*SERVICES, "web")]


def test_up_runs_everything_survives_a_nats_kill_and_ctrl_c_leaves_nothing(
    stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    assert stack.stdout is not None
    started = time.monotonic()
    first = stack.stdout.readline()
    assert first.startswith("Jejaring is running"), first
    assert stack.stdout.readline() == "\n"
    web = stack.stdout.readline()  # people's address comes first
    assert web.split()[:2] == ["web", f"http://127.0.0.1:{stack_env['JEJARING_WEB_PORT']}"], web
    assert stack.stdout.readline().split()[0] == "nats-server"
    for name in SERVICES:  # each service's address, docs and readiness, report among them
        base = f"http://127.0.0.1:{stack_env[f'JEJARING_{name.upper()}_PORT']}"
        assert stack.stdout.readline().split() == [
            name,
            base,
            "docs",
            f"{base}/docs",
            "ready",
            f"{base}/readyz",
        ]
    for port in service_ports(stack_env):
        wait_status(port, 200, timeout=5)
    print(f"stack ready after {time.monotonic() - started:.1f} s ({first.strip()})")

    # An operator adds a partner to the running stack (referral's admin token from
    # .data/admin-token-referral).
    added = subprocess.run(
        [
            JEJARING,
            "partner",
            "add",
            "--slug",
            "uptd-ppa-balikpapan",
            "--name",
            "UPTD PPA",
            "--kind",
            "government",
            "--service",
            "shelter",
            "--contact-phone",
            "0542000000",
        ],
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    assert "stream AGENCY_UPTD_PPA_BALIKPAPAN" in added.stdout

    # The operator rotates its HTTP token: the first keeps working for the grace period, unless
    # the rotation revokes it.
    first = added.stdout.strip().splitlines()[-1]
    held = f"http://127.0.0.1:{stack_env['JEJARING_REFERRAL_PORT']}/api/v1/partners/"
    held += "uptd-ppa-balikpapan/referrals"

    def rotate(*flags: str) -> str:
        rotated = subprocess.run(
            [JEJARING, "partner", "token", "uptd-ppa-balikpapan", *flags],
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rotated.returncode == 0, rotated.stderr
        return rotated.stdout.strip()

    def status(token: str) -> int:
        return httpx.get(held, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    second = rotate()
    assert (status(first), status(second)) == (200, 200)
    third = rotate("--revoke-old")
    assert (status(first), status(second), status(third)) == (401, 401, 200)

    children = children_of(stack.pid)
    processes = processes_of(stack.pid)
    nats_pid = processes["nats-server"]
    services = {processes[name] for name in (*SERVICES, "web")}
    assert sorted(processes) == sorted((*SERVICES, "web", "nats-server", "launcher"))

    os.kill(nats_pid, signal.SIGKILL)
    killed = time.monotonic()
    logs = Path(stack_env["JEJARING_DATA_DIR"]) / "logs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all("nats reconnected" in (logs / f"{s}.log").read_text() for s in SERVICES):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("not every service reconnected to the restarted nats-server")
    for port in service_ports(stack_env):
        wait_status(port, 200, timeout=30)
    print(f"reconnected and ready {time.monotonic() - killed:.1f} s after nats-server was killed")
    assert services <= children_of(stack.pid), "services were not restarted"
    assert all(alive(p) for p in services)

    stack.send_signal(signal.SIGINT)
    assert stack.wait(timeout=30) == 0
    rest = stack.stdout.read()
    assert "Stopped. No process left behind." in rest
    everything = children | children_of(stack.pid) | services
    assert not [p for p in everything if alive(p)], "a process was left behind"
    ports = [*service_ports(stack_env), int(stack_env["JEJARING_NATS_PORT"])]
    assert all(port_is_free(p) for p in ports)


def test_a_service_that_dies_comes_back_forked_or_without_the_launcher_on_its_own(
    stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    """The services are forked from the launcher (what all of them import, imported once) and
    adopted by `jejaring up`: one killed is forked again; with the launcher gone, the next one
    starts as its own `python -m`; and when `jejaring up` itself is killed, nothing stays."""
    assert stack.stdout is not None
    assert stack.stdout.readline().startswith("Jejaring is running")
    first = processes_of(stack.pid)
    port = {s: int(stack_env[f"JEJARING_{s.upper()}_PORT"]) for s in (*SERVICES, "web")}
    # A forked service's exec-time environment is the launcher's, not its own.
    assert "REFERRAL_PORT" not in environ_of(first["referral"]), "not forked from the launcher"

    os.kill(first["referral"], signal.SIGKILL)
    wait_status(port["referral"], 200, timeout=30)
    again = processes_of(stack.pid)
    assert again["referral"] != first["referral"]
    assert "REFERRAL_PORT" not in environ_of(again["referral"]), "forked from the launcher again"

    os.kill(again["launcher"], signal.SIGKILL)
    os.kill(again["notify"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        notify = processes_of(stack.pid).get("notify")
        if notify is not None and notify != again["notify"] and "NOTIFY_PORT" in environ_of(notify):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("notify did not come back as its own python -m")
    wait_status(port["notify"], 200, timeout=30)

    last = processes_of(stack.pid)
    assert "launcher" not in last
    stack.kill()  # SIGKILL: no chance to stop anything in order
    stack.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and [p for p in last.values() if alive(p)]:
        time.sleep(0.1)
    assert not [n for n, p in last.items() if alive(p)], "a process outlived jejaring up"
    out = stack.stdout.read()
    assert "referral exited (code -9)" in out and "notify exited (code -9)" in out, out
    assert "starting the services with their own Python from now on" in out, out


def environ_of(pid: int) -> dict[str, str]:
    """What a process's environment was when it was exec'd (/proc/<pid>/environ)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(e.decode().partition("=")[::2] for e in raw.split(b"\0") if e)


def test_a_taken_port_gives_one_clear_line(stack_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(stack_env["JEJARING_REFERRAL_PORT"])))
        blocker.listen()
        result = subprocess.run(
            [JEJARING, "up"], env=stack_env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {stack_env['JEJARING_REFERRAL_PORT']} (referral HTTP)" in lines[0]
    assert "JEJARING_REFERRAL_PORT" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_too_old_python_gives_one_clear_line(tmp_path: Path) -> None:
    fake = tmp_path / "python3.9"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.9.18"; exit 0; fi\nexit 1\n'
    )
    fake.chmod(0o755)
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "check-python", f"PYTHON={fake}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    message = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(message) == 1, result.stdout
    assert "needs Python 3.11 or newer" in message[0]
    assert "Python 3.9.18" in message[0]


def jejaring(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([JEJARING, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def issue_key(env: dict[str, str], folder: Path, *extra: str) -> tuple[Path, str]:
    """`jejaring partner credentials`: (the seed file written, what it printed)."""
    issued = jejaring(
        env, "partner", "credentials", "posbakum-aisyiyah", "--out", str(folder), *extra
    )
    fields = dict(line.split(":", 1) for line in issued.stdout.splitlines() if ":" in line)
    seed_file = Path(fields["seed file"].split("(")[0].strip())
    assert oct(seed_file.stat().st_mode & 0o777) == "0o600"
    seed = seed_file.read_text().strip()
    assert seed.startswith("SU") and seed not in issued.stdout + issued.stderr
    assert fields["public key"].strip() in issued.stdout
    return seed_file, issued.stdout


async def _connects(url: str, seed_file: Path) -> bool:
    try:
        nc = await nats.connect(url, nkeys_seed=str(seed_file), allow_reconnect=False)
    except Exception as exc:
        if "authorization" not in str(exc).lower():
            raise
        return False
    await nc.close()
    return True


def connects(url: str, seed_file: Path) -> bool:
    return asyncio.run(_connects(url, seed_file))


async def _held_until_refused(url: str, seed_file: Path, act: Callable[[], None]) -> float:
    """Hold a connection with the key, `act`, and return the seconds until the server closed
    that connection and refuses a new one."""
    nc = await nats.connect(url, nkeys_seed=str(seed_file), allow_reconnect=False)
    started = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, act)
    while nc.is_connected and time.monotonic() - started < 90:
        await asyncio.sleep(0.1)
    assert not nc.is_connected, "still connected 90 s later"
    assert not await _connects(url, seed_file)
    return time.monotonic() - started


def test_partner_keys_on_the_embedded_stack(
    stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    """On the embedded stack (secured like production): a case flows from intake to a
    partner's client connected with its NKey seed file, whose acceptance reaches intake; the
    key opens nothing else; rotation keeps the old key until it is revoked; a revoked key and a
    deactivated partner's key are refused, their open connections closed."""
    assert stack.stdout is not None
    assert stack.stdout.readline().startswith("Jejaring is running")
    env = stack_env
    url = f"nats://127.0.0.1:{env['JEJARING_NATS_PORT']}"
    nats_conf = Path(env["JEJARING_DATA_DIR"]) / "nats.conf"  # it holds bcrypt hashes
    assert oct(nats_conf.stat().st_mode & 0o777) == "0o600"
    assert '"127.0.0.1:' + env["JEJARING_NATS_MONITOR_PORT"] in nats_conf.read_text()
    keys = tmp_path / "keys"
    first, printed = issue_key(env, keys, "--expires-days", "30")
    example = [sys.executable, str(REPO / "examples" / "partner_client.py"), "--nats-url", url]

    officer = (
        jejaring(
            env,
            "user",
            "add",
            "--name",
            "Ibu Wulan",
            "--role",
            "officer",
            "--kelurahan",
            "64.71.04.1003",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    intake = f"http://127.0.0.1:{env['JEJARING_INTAKE_PORT']}"
    who = {"Authorization": f"Bearer {officer}"}
    created = httpx.post(f"{intake}/api/v1/cases", json=THREE_WAY_CASE, headers=who, timeout=10)
    assert created.status_code == 201, created.text
    own = subprocess.run(
        [
            *example,
            "--slug",
            "posbakum-aisyiyah",
            "--seed-file",
            str(first),
            "--accept",
            "--count",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert own.returncode == 0, own.stderr
    assert "listening on AGENCY_POSBAKUM_AISYIYAH" in own.stdout
    assert "-> accepted" in own.stdout
    case_url = f"{intake}/api/v1/cases/{created.json()['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {
            r["partner_slug"]: r["status"]
            for r in httpx.get(case_url, headers=who, timeout=5).json()["referrals"]
        }
        if states.get("posbakum-aisyiyah") == "accepted":
            break
        time.sleep(0.2)
    assert states.get("posbakum-aisyiyah") == "accepted", states

    other = subprocess.run(
        [*example, "--slug", "polresta-ppa", "--seed-file", str(first), "--idle-exit", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 1
    assert "not authorised to read AGENCY_POLRESTA_PPA" in other.stderr
    anonymous = subprocess.run(
        [*example, "--slug", "posbakum-aisyiyah"], capture_output=True, text=True, timeout=60
    )
    assert anonymous.returncode == 1

    second, printed = issue_key(env, keys, "--rotate")
    assert "still valid:" in printed
    assert connects(url, first) and connects(url, second)  # the switch has no gap
    seconds = asyncio.run(
        _held_until_refused(
            url, first, lambda: jejaring(env, "partner", "revoke-key", "posbakum-aisyiyah")
        )
    )
    print(f"revoked key refused {seconds:.1f} s after `jejaring partner revoke-key`")
    assert connects(url, second)

    # Deactivation is picked up by the stack's periodic sync (every 15 s), not by a command.
    seconds = asyncio.run(
        _held_until_refused(
            url, second, lambda: jejaring(env, "partner", "deactivate", "posbakum-aisyiyah")
        )
    )
    print(f"deactivated partner's key refused {seconds:.1f} s after `jejaring partner deactivate`")
    assert seconds < 60


_VARIABLE = re.compile(rb"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]{1,80})=([\x20-\x7e]{0,4000}?)\x00")


def environment_in(heap: bytes) -> dict[str, set[str]]:
    """Every NAME=value string in a process's heap (`memory_of(pid, heap_only=True)`): its
    environment as the C library holds it (set at exec, or by the launcher after the fork),
    with any stale copies, so a name may show more than one value. /proc/<pid>/environ shows
    only what exec was given."""
    found: dict[str, set[str]] = {}
    for match in _VARIABLE.finditer(heap):
        found.setdefault(match[1].decode(), set()).add(match[2].decode())
    return found


def forgeries(values: list[str], person: dict[str, object]) -> list[str]:
    """Every access token one can make for `person` from `values` (a process's environment):
    HS256 with each value as the secret, and EdDSA with the key intake would derive from it."""
    claims = {
        "iss": "jejaring-intake",
        "aud": "jejaring",
        "iat": int(time.time()),
        "exp": int(time.time()) + 50,
        **person,
    }
    made = []
    with warnings.catch_warnings():  # most values are far too short for an HMAC key: the point
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        for value in values:
            made.append(jwt.encode(claims, value, algorithm="HS256"))
            made.append(jwt.encode(claims, identity.signing_key(value), algorithm="EdDSA"))
    return made


def test_up_makes_an_identity_key_and_every_service_takes_peoples_tokens(
    stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    """On first start `jejaring up` makes the identity key (0600, like the admin token) and
    gives it to intake alone; referral, notify and report get its public key: a person who signs
    in at intake is known to all of them, and nothing in referral's or notify's environment makes a
    token any service accepts."""
    assert stack.stdout is not None
    assert stack.stdout.readline().startswith("Jejaring is running")
    data = Path(stack_env["JEJARING_DATA_DIR"])
    key_file = data / "identity-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_text().strip()) >= 32
    intake, referral, notify, report, _web = (
        f"http://127.0.0.1:{p}" for p in service_ports(stack_env)
    )
    tokens = {s: (data / f"admin-token-{s}").read_text().strip() for s in SERVICES}
    assert len(set(tokens.values())) == 4, "one admin token per service"
    assert all((data / f"admin-token-{s}").stat().st_mode & 0o777 == 0o600 for s in SERVICES)
    for service, url in (
        ("intake", f"{intake}/api/v1/users"),
        ("referral", f"{referral}/api/v1/partners"),
        ("notify", f"{notify}/api/v1/deliveries"),
    ):
        for holder, token in tokens.items():
            answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert answer.status_code == (200 if holder == service else 401), (service, holder)
    admin = {"Authorization": f"Bearer {tokens['intake']}"}

    created = httpx.post(
        f"{intake}/api/v1/users",
        json={"name": "Admin Kecamatan", "role": "admin", "login": "admin.kecamatan"},
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    password = "kata-sandi-admin-kecamatan"
    setup = {"login": "admin.kecamatan", "code": created.json()["setup_code"], "password": password}
    assert httpx.post(f"{intake}/api/v1/auth/setup", json=setup, timeout=10).status_code == 204
    signed = httpx.post(
        f"{intake}/api/v1/auth/sign-in",
        json={"login": "admin.kecamatan", "password": password},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text
    person = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    urls = {
        "intake": f"{intake}/api/v1/users",
        "referral": f"{referral}/api/v1/partners",
        "notify": f"{notify}/api/v1/deliveries",
    }
    for url in urls.values():
        answer = httpx.get(url, headers=person, timeout=10)
        assert answer.status_code == 200, (url, answer.text)

    # What each process holds, read from the kernel: the signing secret is intake's alone.
    printed = jejaring(stack_env, "identity", "public-key")
    assert printed.returncode == 0, printed.stderr
    public = printed.stdout.strip()
    assert public == identity.public_key_of(key_file.read_text().strip())
    processes = processes_of(stack.pid)
    memory = {name: memory_of(processes[name]) for name in (*SERVICES, "web", "launcher")}
    environs = {
        name: environment_in(memory_of(processes[name], heap_only=True))
        for name in (*SERVICES, "web")
    }
    secret = key_file.read_text().strip()
    assert secret in environs["intake"]["JEJARING_IDENTITY_KEY"]
    assert secret.encode() in memory["intake"]  # the scan finds what a process holds
    for name in ("referral", "notify", "report", "web", "launcher"):
        assert secret.encode() not in memory[name], name
    for name in ("referral", "notify", "report"):
        assert public in environs[name]["JEJARING_IDENTITY_PUBLIC_KEY"], name
    assert public.encode() not in memory["web"], "the web app verifies nothing"
    assert report in environs["web"]["WEB_REPORT_URL"], "the web app reaches report"
    for holder in (*SERVICES, "web"):  # each is given its own admin token, never another's
        given = {k for k in environs[holder] if k.endswith("_ADMIN_TOKEN")}
        assert given == ({f"{holder.upper()}_ADMIN_TOKEN"} if holder in SERVICES else set())
    # Above, this test sent every token to intake, referral and notify (their request buffers
    # hold them now); report, the web app and the launcher were sent none and hold no other's.
    for holder in ("report", "web", "launcher"):
        held = {s for s, token in tokens.items() if token.encode() in memory[holder]}
        assert held == ({holder} if holder in SERVICES else set()), holder
    del memory

    # Forging a coordinator's token from everything referral or notify holds: none is accepted
    # anywhere (the admin's own token above was, so the refusals are about the signature).
    coordinator = {"sub": signed.json()["person"]["id"], "role": "coordinator", "name": "X"}
    values = sorted(
        {
            v
            for n in ("referral", "notify", "report")
            for vs in environs[n].values()
            for v in vs
            if v
        }
    )
    made = forgeries(values, coordinator)
    assert len(made) >= 40
    for service, url in urls.items():
        with httpx.Client(timeout=10) as client:
            statuses = {
                client.get(url, headers={"Authorization": f"Bearer {t}"}).status_code for t in made
            }
        assert statuses == {401}, (service, statuses)
    stack.send_signal(signal.SIGINT)
    assert stack.wait(timeout=30) == 0


def test_the_dlq_tool_works_on_the_embedded_stack_with_no_setup(
    stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    """`jejaring up` made the operator's NATS password (.data/nats-secrets.json) and put its
    user in the server's configuration: `jejaring dlq` reads the DLQ at once, nothing to set."""
    assert stack.stdout is not None
    assert stack.stdout.readline().startswith("Jejaring is running")
    for port in service_ports(stack_env):
        wait_status(port, 200, timeout=60)
    assert "0 dead letters" in jejaring(stack_env, "dlq", "list").stderr
    missing = subprocess.run(
        [JEJARING, "dlq", "show", "1"], env=stack_env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1
    assert missing.stderr == "jejaring dlq: no dead letter 1 (see `jejaring dlq list`)\n"
