"""Report's integration fixtures: settings for a test's own database and nats-server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jejaring.report.settings import ReportSettings

ADMIN = "report-admin-token-for-tests-0123"


@pytest.fixture
def report_settings(
    database_url: str, nats_url: str, tmp_path: Path
) -> Callable[..., ReportSettings]:
    """Builds ReportSettings on the test's database and nats-server, with an admin token."""

    def make(**fields: Any) -> ReportSettings:
        base: dict[str, Any] = dict(
            database_url=database_url, nats_url=nats_url, data_dir=tmp_path, admin_token=ADMIN
        )
        return ReportSettings(**(base | fields))

    return make
