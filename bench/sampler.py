"""`python -m bench.sampler INTERVAL [--postgresql] NAME=PID ...`: every INTERVAL seconds, one
JSON line of the wall-clock time and the CPU seconds used so far by each named process (and by
PostgreSQL, all its processes, with --postgresql), until stopped. A process of its own: its CPU
is not the load generator's."""

from __future__ import annotations

import json
import sys
import time

from bench.pipeline import processes_cpu


def main() -> None:
    interval, *args = sys.argv[1:]
    postgresql = "--postgresql" in args
    pids = {name: int(pid) for name, pid in (a.split("=") for a in args if a != "--postgresql")}
    while True:
        used = processes_cpu(pids, postgresql=postgresql)
        print(json.dumps({"t": time.time(), "cpu": used}), flush=True)
        time.sleep(float(interval))


if __name__ == "__main__":
    main()
