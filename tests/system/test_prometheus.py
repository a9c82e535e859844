"""The committed Grafana dashboard evaluated by a real Prometheus (Debian's package, the binary
on PATH): Prometheus runs the committed deploy/observability/prometheus.yml with only its
targets moved to this test's ports (its jobs, metrics paths and labels as committed), scrapes
intake, referral, notify and the web app every second while a case flows through, and then
every expression of every panel of the dashboard is sent to its query API: each must be valid
PromQL, and each panel that shows the flow must show it."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from jejaring.shared.messaging.natsserver import free_port
from jejaring.testing import until

from .conftest import System, partner_sends_junk

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy/observability"
DASHBOARD = OBSERVABILITY / "grafana/dashboards/jejaring-pipeline.json"
# What Grafana puts in place of its variables. $__rate_interval is at least four of the data
# source's scrape intervals (15 s in production): 1m.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
# (panel title, refId): why that query may show nothing after a clean flow with one junk reply.
MAY_BE_EMPTY = {
    ("Redelivered and dead-lettered per type", "A"): "nothing is redelivered in a clean flow",
    ("Redelivered and dead-lettered per type", "C"): "no event of an unknown type was sent",
}
# (panel title, refId): the panels that must show the flow as a number above zero.
SHOW_THE_FLOW = {
    ("Cases in (per second)", "A"),
    ("Dead-lettered (24 h)", "A"),
    ("Events published per type", "A"),
    ("Events consumed per type", "A"),
    ("Redelivered and dead-lettered per type", "B"),
    ("Referrals by status", "A"),
    ("Deliveries by channel and status", "A"),
    ("HTTP requests by service and status", "A"),
}
# The panels of messages sent: they show the flow when a message was sent in the second round.
SENDS = {("Send attempts by channel and result", "A"), ("Send latency p95 by channel", "A")}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail(
            "no `prometheus` on PATH: install Debian's package with "
            "`bash scripts/need-debian-package prometheus` (.ci/run does)"
        )
    return found


def local_config(ports: dict[str, int]) -> dict[str, Any]:
    """The committed prometheus.yml, each target (a compose service name) moved to the port of
    that process here, scraped every second; its jobs, metrics paths and labels as committed.
    A target this test does not run fails here, a wrong path leaves its target down, a renamed
    `service` label fails the dashboard's panels by service."""
    config: dict[str, Any] = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    config["global"] = {**config.get("global", {}), "scrape_interval": "1s"}
    config["global"]["evaluation_interval"] = "1s"
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            moved = []
            for target in static["targets"]:
                host = target.split(":")[0]
                assert host in ports, f"prometheus.yml scrapes {target}, which no test process is"
                moved.append(f"127.0.0.1:{ports[host]}")
            static["targets"] = moved
    return config


def notify_settled(s: System, timeout: float = 30) -> int:
    """Wait until notify holds no delivery queued or being sent; how many were sent."""
    deadline = time.monotonic() + timeout
    sql = "SELECT status, count(*) FROM delivery GROUP BY status"
    while True:
        counts = dict(asyncio.run(s._rows("notify", sql)))
        if not counts.get("queued") and not counts.get("sending"):
            return int(counts.get("sent", 0))
        assert time.monotonic() < deadline, f"notify still sending: {counts}"
        time.sleep(0.2)


@dataclass
class Prometheus:
    url: str
    jobs: list[str]
    targets: int  # every target of the committed prometheus.yml

    def query(self, promql: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer: dict[str, Any] = r.json()
        assert r.status_code == 200 and answer["status"] == "success", (promql, answer)
        data: dict[str, Any] = answer["data"]
        return data

    def scalar(self, promql: str) -> float:
        data = self.query(promql)
        assert data["resultType"] == "scalar", (promql, data)
        return float(data["result"][1])

    def scraped_after(self, moment: float, timeout: float = 30) -> None:
        """Wait until every target is up and was scraped after `moment` (seconds, Prometheus's
        own clock: the test's may be moved by scripts/at-wita)."""
        deadline = time.monotonic() + timeout
        # timestamp() of a selector is the scrape's time (of anything else, the query's)
        promql = f"count(timestamp(up) > {moment} and up == 1)"
        while True:
            result = self.query(promql)["result"]
            if result and float(result[0]["value"][1]) == self.targets:
                return
            assert time.monotonic() < deadline, f"{promql} is {result}, not {self.targets}"
            time.sleep(0.2)


@pytest.fixture
def prometheus(secured_system: System, web: str) -> Iterator[Prometheus]:
    s = secured_system
    ports = {**s.ports, "web": int(web.rsplit(":", 1)[1])}
    config = local_config(ports)
    (s.tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(s.tmp / "prometheus.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={s.tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={s.tmp / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"prometheus exited: see {s.tmp / 'prometheus.log'}"
        try:
            return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(ready, timeout=30)
        jobs = config["scrape_configs"]
        targets = sum(len(static["targets"]) for job in jobs for static in job["static_configs"])
        yield Prometheus(url, [job["job_name"] for job in jobs], targets)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(panel title, refId, PromQL with Grafana's variables put in) for every panel's target."""
    board = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{panel['title']}: a Grafana variable this test lacks: {expr}"
            queries.append((panel["title"], target["refId"], expr))
    return queries


def test_prometheus_evaluates_every_panel_of_the_dashboard(
    secured_system: System, web: str, prometheus: Prometheus
) -> None:
    s = secured_system
    started = time.perf_counter()
    # the five processes of the committed file, each up and scraped at least once
    assert prometheus.targets == 5
    prometheus.scraped_after(0)
    # Two rounds: a counter's series is born at its first increment, at 1, so rate() and
    # increase() see only the increments after the first scrape that found it (the second
    # round's), as on a running system (docs/decisions.md, "Metrics").
    sent = []
    for n in (1, 2):
        s.post_cases(1)
        asyncio.run(partner_sends_junk(s, "polresta-ppa"))
        assert httpx.get(f"{web}/", timeout=10).status_code in (200, 303)
        s.converge(expected_dlq=n)
        sent.append(notify_settled(s))
        prometheus.scraped_after(prometheus.scalar("time()"))
    assert set(prometheus.jobs) == {r["metric"]["job"] for r in prometheus.query("up")["result"]}, (
        "a job of prometheus.yml has no target up"
    )

    queries = dashboard_queries()
    assert len(queries) >= 10, "the dashboard lost its panels"
    shown: dict[tuple[str, str], list[float]] = {}
    services: dict[tuple[str, str], set[str]] = {}
    for title, ref, expr in queries:
        data = prometheus.query(expr)  # valid PromQL, evaluated
        assert data["resultType"] == "vector", (title, ref, data)
        shown[title, ref] = [float(r["value"][1]) for r in data["result"]]
        services[title, ref] = {r["metric"].get("service", "") for r in data["result"]}
    # the panels by service name each process as compose does (prometheus.yml's labels)
    assert services["HTTP requests by service and status", "A"] == {*s.ports, "web"}
    assert services["Outbox backlog", "A"] == set(s.ports)
    print(f"\n  {len(queries)} dashboard queries on Prometheus: {shown}")
    missing = (SHOW_THE_FLOW | SENDS | MAY_BE_EMPTY.keys()) - shown.keys()
    assert not missing, f"no longer on the dashboard: {missing}"
    must_show = set(SHOW_THE_FLOW)
    if sent[1] > sent[0]:  # none when every send waits for the end of quiet hours (at night)
        must_show |= SENDS
    else:
        print(f"  no message sent in the second round ({sent}): the send panels may be empty")
        for key in SENDS:
            shown.pop(key)
    for key, values in shown.items():
        if key in MAY_BE_EMPTY:
            continue
        assert values, f"{key} shows nothing after a case flowed through"
        assert all(not math.isnan(v) for v in values), f"{key} shows NaN: {values}"
    for key in must_show:
        assert sum(shown[key]) > 0, f"{key} does not show the flow: {shown[key]}"
    print(f"  the flow and the dashboard on Prometheus took {time.perf_counter() - started:.1f} s")
