"""`python -m bench.sampler INTERVAL NAME=PID ...`: every INTERVAL seconds, one JSON line of the
wall-clock time and the CPU seconds used so far by each named process and by PostgreSQL (all
its processes), until stopped. A process of its own: its CPU is not the load generator's."""

from __future__ import annotations

import json
import sys
import time

from bench.pipeline import cpu_seconds, postgres_cpu_seconds


def main() -> None:
    interval = float(sys.argv[1])
    pids = {name: int(pid) for name, pid in (arg.split("=") for arg in sys.argv[2:])}
    while True:
        used = {name: cpu_seconds(pid) for name, pid in pids.items()}
        used["postgresql"] = postgres_cpu_seconds()
        print(json.dumps({"t": time.time(), "cpu": used}), flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main()
