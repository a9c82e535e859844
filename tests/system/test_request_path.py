"""A request stays on the event loop: no route or dependency of any service is a plain `def`.

FastAPI runs a plain `def` dependency or route in a worker thread. For functions that only
read `request.app.state` that hop is all they cost: about 0.14 ms of CPU each, on every request
(two on a case's POST), plus the threads' own memory. The bench cannot see 0.3 ms a case
through its noise, so this test keeps them out.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

SERVICES = ("intake", "referral", "notify", "report", "web")


def _on_the_loop(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def threaded(app: FastAPI) -> list[str]:
    """Each route and dependency of `app` that FastAPI would run in a worker thread."""
    found: set[str] = set()
    for route in app.routes:
        dependant: Dependant | None = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for each in (dependant, *_dependants(dependant)):
            if each.call is not None and not _on_the_loop(each.call):
                found.add(f"{route.path}: {each.call.__module__}.{each.call.__qualname__}")
    return sorted(found)


@pytest.mark.parametrize("service", SERVICES)
def test_no_request_hops_to_a_thread(service: str, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # the default settings' SQLite file, never opened here
    app = importlib.import_module(f"jejaring.{service}.app").create_app()
    assert app.routes
    assert threaded(app) == []


def test_a_plain_def_dependency_is_found() -> None:
    from fastapi import Depends, Request

    def state(request: Request) -> object:
        return request.app.state

    app = FastAPI()

    @app.get("/x")
    async def x(_s: object = Depends(state)) -> None:
        return None

    assert threaded(app) == ["/x: " + f"{__name__}.{state.__qualname__}"]
