"""`/metrics` of every service (intake, referral, notify, web) as Prometheus scrapes it: it
parses, it moves by the expected amounts when a case flows through, it never carries a case's
reference, id or a name, and the committed Grafana dashboard names only metrics the services
really export."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from jejaring.shared.contract.events import (
    CaseCreated,
    PartnerReplied,
    ReferralRequested,
    ReferralStatusChanged,
)
from jejaring.testing import THREE_WAY_CASE, VICTIM_NAME

from .conftest import System, partner_sends_junk

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/observability/grafana/dashboards"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
# What each service's consumers are called (their durable names).
DURABLES = {
    "intake": {"intake-referral-events"},
    "referral": {"referral-cases", "referral-replies"},
    "notify": {"notify-referral-events"},
    "report": {"report-cases", "report-referral-events"},
}


def scrape(url: str) -> tuple[str, Samples]:
    r = httpx.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return r.text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def exported_names(text: str) -> set[str]:
    """Every series name the exposition offers, with the suffixes PromQL sees."""
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("_count", "_sum", ""),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
        names |= {s.name for s in family.samples}
    return names


def test_metrics_parse_and_move_when_a_case_flows_through(secured_system: System, web: str) -> None:
    s = secured_system
    urls = {name: s.url(name) for name in DURABLES} | {"web": web}
    before = {name: scrape(url)[1] for name, url in urls.items()}

    posted = httpx.post(
        f"{urls['intake']}/api/v1/cases",
        json=THREE_WAY_CASE,
        headers={**s.officer, "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    case = posted.json()
    got = httpx.get(f"{urls['intake']}/api/v1/cases/{case['id']}", headers=s.officer, timeout=10)
    assert got.status_code == 200
    asyncio.run(partner_sends_junk(s, "polresta-ppa"))
    # people's pages and a path that matches no route (it looks like a case's)
    assert httpx.get(f"{web}/", timeout=10).status_code in (200, 303)
    assert httpx.get(f"{web}/kasus/{case['reference']}", timeout=10).status_code == 404
    s.converge(expected_dlq=1)  # referrals, partner streams, deliveries, the junk in the DLQ

    # intake's and report's read models are not part of converge(): wait until their consumers
    # have the statuses
    texts: dict[str, str] = {}
    after: dict[str, Samples] = {}
    deadline = time.monotonic() + 30
    while True:
        for name, url in urls.items():
            texts[name], after[name] = scrape(url)
        behind = [
            name
            for name in ("intake", "report")
            if total(after[name], "jejaring_events_consumed_total", outcome="handled")
            < total(before[name], "jejaring_events_consumed_total") + 3
        ]
        if not behind:
            break
        assert time.monotonic() < deadline, f"{behind} did not consume the referrals' statuses"
        time.sleep(0.2)

    def moved(service: str, name: str, **labels: str) -> float:
        return total(after[service], name, **labels) - total(before[service], name, **labels)

    http = "jejaring_http_request_duration_seconds_count"
    assert moved("intake", http, method="POST", route="/api/v1/cases", status="201") == 1
    assert moved("intake", http, method="GET", route="/api/v1/cases/{case_id}", status="200") == 1
    assert moved("web", http, method="GET", route="other", status="404") == 1
    assert moved("web", http, method="GET", route="/") == 1
    # what a case cost each service in database round trips (the bench's statements per case)
    trips = "jejaring_db_round_trips_total"
    for service in DURABLES:
        assert moved(service, trips, kind="statement") > 0, service
        assert moved(service, trips, kind="commit") > 0, service

    published, consumed = "jejaring_events_published_total", "jejaring_events_consumed_total"
    batches = "jejaring_consumer_batches_total"
    assert moved("intake", published, type=CaseCreated.ce_type) == 1
    assert moved("referral", consumed, consumer="referral-cases", type=CaseCreated.ce_type) == 1
    assert moved("report", consumed, consumer="report-cases", type=CaseCreated.ce_type) == 1
    assert moved("report", published) == 0, "report publishes nothing"
    # each referral: its request on the partner's stream, its status for intake and notify
    assert moved("referral", published, type=ReferralRequested.ce_type) == 3
    assert moved("referral", published, type=ReferralStatusChanged.ce_type) == 3
    for service, durable in (
        ("intake", "intake-referral-events"),
        ("notify", "notify-referral-events"),
        ("report", "report-referral-events"),
    ):
        got = moved(service, consumed, consumer=durable, type=ReferralStatusChanged.ce_type)
        assert got == 3, (service, got)
        assert moved(service, consumed, consumer=durable, outcome="duplicate") == 0
        # in how many fetches (the bench's plumbing a case): at least one, at most one an event
        assert 1 <= moved(service, batches, consumer=durable) <= 3, (service, durable)
    assert moved("referral", batches, consumer="referral-cases") == 1
    relayed = "jejaring_outbox_batches_total"
    assert moved("intake", relayed) >= 1
    assert 1 <= moved("referral", relayed) <= 6
    assert moved("report", relayed) == 0, "report publishes nothing"
    # the junk reply: dead-lettered by referral, counted under its (contract) type
    dead = "jejaring_events_dead_lettered_total"
    assert moved("referral", dead, consumer="referral-replies", type=PartnerReplied.ce_type) == 1
    assert sum(moved(n, dead) for n in DURABLES) == 1

    for service, durables in DURABLES.items():
        assert total(after[service], "jejaring_outbox_backlog") == 0, service
        assert total(after[service], "jejaring_outbox_oldest_age_seconds") == 0, service
        for durable in durables:  # read with the service's own (least-privilege) NATS user
            key = ("jejaring_consumer_pending", frozenset({("consumer", durable)}))
            assert after[service].get(key) == 0, (service, durable, key)

    assert total(after["referral"], "jejaring_referrals", status="requested") == 3
    assert total(after["referral"], "jejaring_referrals") == 3
    assert total(after["referral"], "jejaring_referrals_overdue") == 0

    rows = asyncio.run(
        s._rows("notify", "SELECT channel, status, count(*) FROM delivery GROUP BY channel, status")
    )
    assert rows, "notify planned no delivery"
    for channel, status, n in rows:
        gauge = total(after["notify"], "jejaring_notify_deliveries", channel=channel, status=status)
        assert gauge == n, (channel, status, gauge, n)
    sent = sum(n for _, status, n in rows if status == "sent")
    attempts = moved("notify", "jejaring_notify_send_seconds_count", result="sent")
    assert attempts == sent, (attempts, sent)

    took = {}
    for name, url in urls.items():
        started = time.perf_counter()
        scrape(url)
        took[name] = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    print(
        f"\n  one scrape of /metrics took {took}; sizes { ({n: len(t) for n, t in texts.items()}) }"
    )
    for name, text in texts.items():
        for secret in (case["reference"], case["id"], case["id"].replace("-", ""), VICTIM_NAME):
            assert secret not in text, f"{name}'s /metrics holds {secret!r}"


def test_the_dashboard_names_only_metrics_the_services_export(
    secured_system: System, web: str
) -> None:
    """Renaming a metric in the code without the dashboard (or the reverse) fails here."""
    urls = [secured_system.url(n) for n in DURABLES] + [web]
    exported = set().union(*(exported_names(scrape(url)[0]) for url in urls))
    boards = sorted(DASHBOARD.glob("*.json"))
    assert len(boards) == 1, boards
    board = json.loads(boards[0].read_text())
    exprs = [
        target["expr"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert len(exprs) >= 10, "the dashboard lost its panels"
    named = {m for e in exprs for m in re.findall(r"\bjejaring_[a-z0-9_]+", e)}
    assert named, exprs
    assert not named - exported, (
        f"the dashboard names metrics no service exports: {named - exported}"
    )
    # the pipeline at a glance: each of these is on the dashboard
    for metric in (
        "jejaring_events_published_total",
        "jejaring_events_consumed_total",
        "jejaring_events_dead_lettered_total",
        "jejaring_outbox_backlog",
        "jejaring_outbox_oldest_age_seconds",
        "jejaring_consumer_pending",
        "jejaring_consumer_batches_total",
        "jejaring_outbox_batches_total",
        "jejaring_referrals",
        "jejaring_referrals_overdue",
        "jejaring_notify_deliveries",
        "jejaring_notify_send_seconds_bucket",
        "jejaring_http_request_duration_seconds_bucket",
    ):
        assert metric in named, f"{metric} is not on the dashboard"
