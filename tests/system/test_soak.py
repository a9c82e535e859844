"""`make soak` (not in CI): steady load for SOAK_SECONDS (default 600), one random fault a minute,
then the same invariants as the fault tests and a one-line summary."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import pytest


@pytest.mark.soak
def test_soak(system) -> None:  # type: ignore[no-untyped-def]
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    rate = float(os.environ.get("SOAK_RATE", "2"))

    def restart(name: str) -> Callable[[], None]:
        def fault() -> None:
            system.kill(name)
            time.sleep(1)
            system.start(name)

        return fault

    def nats_kill() -> None:
        system.nats.kill()
        time.sleep(1)
        system.nats.start()

    def nats_stop() -> None:
        system.nats.kill(signal.SIGSTOP)
        time.sleep(15)
        system.nats.kill(signal.SIGCONT)

    faults: dict[str, Callable[[], None]] = {
        "kill -9 intake": restart("intake"),
        "kill -9 referral": restart("referral"),
        "kill -9 notify": restart("notify"),
        "kill -9 nats-server": nats_kill,
        "SIGSTOP nats-server 15 s": nats_stop,
    }
    if system.dbs["intake"].startswith("postgresql") and shutil.which("pg_ctlcluster"):
        pg_version, pg_cluster = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
        ).stdout.split()[:2]

        def pg_stop() -> None:
            subprocess.run(
                ["pg_ctlcluster", pg_version, pg_cluster, "stop", "-m", "immediate"], check=True
            )
            time.sleep(10)
            subprocess.run(["pg_ctlcluster", pg_version, pg_cluster, "start"], check=True)

        faults["PostgreSQL stopped 10 s"] = pg_stop

    rng = random.Random(int(os.environ.get("SOAK_SEED", "2026")))
    started, longest, done = time.monotonic(), 0.0, []
    while time.monotonic() - started < seconds:
        minute = time.monotonic()
        load = system.burst_in_background(int(rate * 30), pause=1 / rate)
        time.sleep(5)
        fault = rng.choice(sorted(faults))
        faults[fault]()
        done.append(fault)
        load.join()
        figures = system.converge(timeout=180)
        longest = max(longest, figures.seconds_to_converge)
        time.sleep(max(0.0, 60 - (time.monotonic() - minute)))
    final = system.converge(timeout=180)
    lost = (final.referrals_expected - final.referrals_found) + (system.posted - final.cases)
    print(
        f"\nsoak: {time.monotonic() - started:.0f} s, faults {len(done)} ({', '.join(done)}); "
        f"cases {final.cases}, referrals {final.referrals_found}, notifications "
        f"{final.notifications}, duplicates {final.duplicates}, lost {lost}, "
        f"longest time to converge {longest:.1f} s, posts retried after faults {system.retried_posts}"
    )
    assert final.duplicates == 0
    assert lost == 0
