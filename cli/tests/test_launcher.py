"""The embedded stack's launcher: what it imports for the services, and what it starts with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from jejaring.cli.preload import PRELOAD, shared_environment
from jejaring.cli.stack import PROCESSES, StackConfig


@pytest.mark.parametrize("service", ["intake", "referral", "notify", "report", "web"])
def test_every_service_imports_what_the_launcher_imports_for_it(service: str) -> None:
    """The launcher imports only what each of the five would import anyway: nothing in a
    service's memory that its own `python -m` would not have loaded."""
    script = (
        f"import json, sys, jejaring.{service}.__main__; "
        f"print(json.dumps([m for m in {list(PRELOAD)!r} if m not in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_the_launcher_starts_with_what_every_service_is_given_alike_never_a_secret(
    tmp_path: Path,
) -> None:
    """The environments `jejaring up` gives the five, and what of them the launcher (and so
    every service forked from it) may hold: nothing one service is given and another is not."""
    operator = {"PATH": "/usr/bin", "LANG": "id_ID.UTF-8", "LD_PRELOAD": "libfaketime.so.1"}
    config = StackConfig.from_env({**operator, "JEJARING_DATA_DIR": str(tmp_path / "data")})
    with mock.patch.dict(os.environ, operator, clear=True):
        given = {name: config.service_env(name) for name in PROCESSES}
    shared = shared_environment(list(given.values()))
    assert operator.items() <= shared.items()  # the clock offset of scripts/at-wita included
    for name, env in given.items():
        kept = {k for k in env if k in shared}
        assert {k for k in env if k.endswith(("_TOKEN", "_PASSWORD", "_KEY"))}.isdisjoint(kept)
        assert f"{name.upper()}_PORT" in env and f"{name.upper()}_PORT" not in shared
    assert set(shared) == set(operator) | {"PYTHONUNBUFFERED"}, shared
