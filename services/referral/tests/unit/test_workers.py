"""Referral's periodic jobs: which run, how often, after what delay, in which transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jejaring.referral import deadlines, repair, retention
from jejaring.referral.app import create_runtime
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.messaging import runtime as shared_runtime


class FakeSession:
    def __init__(self) -> None:
        self.transactions = 0

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[None]:
        self.transactions += 1
        yield


def run_worker(
    worker: Any, monkeypatch: pytest.MonkeyPatch, *, runs: int
) -> tuple[list[float], FakeSession]:
    """Run `worker` on a stand-in runtime until it has slept `runs` + 1 times; return the
    sleeps and the one session it was given each time."""
    session = FakeSession()
    sleeps: list[float] = []

    @contextlib.asynccontextmanager
    async def sessions() -> AsyncIterator[FakeSession]:
        yield session

    fake = SimpleNamespace(stopping=False, sessions=sessions)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake.stopping = len(sleeps) > runs

    clock = SimpleNamespace(sleep=sleep, CancelledError=asyncio.CancelledError)
    monkeypatch.setattr(shared_runtime, "asyncio", clock)
    asyncio.run(worker(fake))
    return sleeps, session


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: list[str] = []

    async def job(name: str, *_: Any, **__: Any) -> int:
        calls.append(name)
        return 0

    monkeypatch.setattr(repair, "repair_streams", lambda *a, **k: job("repair", *a, **k))
    monkeypatch.setattr(deadlines, "check_deadlines", lambda *a, **k: job("deadlines", *a, **k))
    monkeypatch.setattr(repair, "reconcile", lambda *a, **k: job("reconcile", *a, **k))
    monkeypatch.setattr(retention, "forget_unfetched", lambda *a, **k: job("forget", *a, **k))
    settings = ReferralSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}",
        data_dir=tmp_path,
        deadline_check_interval_s=5,
        reconcile_interval_s=60,
    )
    runtime = create_runtime(settings)
    runtime.js = object()  # type: ignore[assignment]  # as if connected: stream repair asks it
    return {**dict(runtime.workers), "calls": calls}


def test_the_three_jobs_and_their_task_names(workers: dict[str, Any]) -> None:
    assert list(workers) == [
        "forget-unfetched",
        "stream-repair",
        "deadlines",
        "reconciler",
        "calls",
    ]


@pytest.mark.parametrize(
    ("name", "job", "first_delay", "interval", "in_a_transaction"),
    [
        ("forget-unfetched", "forget", 0.0, 1.0, False),  # talks to NATS: no transaction
        ("stream-repair", "repair", 30.0, 60.0, False),  # half a minute after the reconciler
        ("deadlines", "deadlines", 0.0, 5.0, True),
        ("reconciler", "reconcile", 0.0, 60.0, True),
    ],
)
def test_each_job_runs_after_its_delay_then_every_interval(
    workers: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    job: str,
    first_delay: float,
    interval: float,
    in_a_transaction: bool,
) -> None:
    sleeps, session = run_worker(workers[name], monkeypatch, runs=2)
    assert sleeps == [first_delay, interval, interval]
    assert workers["calls"] == [job, job]
    assert session.transactions == (2 if in_a_transaction else 0)


def test_a_failing_run_is_logged_and_the_next_one_comes(
    workers: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: Any, **__: Any) -> int:
        raise ConnectionError

    monkeypatch.setattr(deadlines, "check_deadlines", broken)
    with caplog.at_level(logging.WARNING):
        sleeps, _ = run_worker(workers["deadlines"], monkeypatch, runs=2)
    assert sleeps == [0.0, 5.0, 5.0]
    failures = [r for r in caplog.records if r.getMessage() == "periodic job failed, will retry"]
    assert [(r.name, r.job, r.error) for r in failures] == [  # type: ignore[attr-defined]
        ("jejaring.referral.app", "deadline check", "ConnectionError")
    ] * 2
