"""The report's endpoints on the real service (its consumers on a real nats-server, its
database) over the seeded set of test_report_cells: who gets what, the files a reader
downloads, and the refusals."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from jejaring.report.app import create_app
from jejaring.report.settings import ReportSettings
from jejaring.shared.web.identity import Person, PersonRole, issue, public_key_of
from jejaring.testing import until

from .test_report_cells import ADMIN_H, NOW, Report, post, seeded_cases

IDENTITY = "identity-secret-of-the-report-export-tests"


def person(role: PersonRole) -> dict[str, str]:
    who = Person(
        uuid.uuid4(), "Test", role, partner_slug="lbh" if role == "partner_staff" else None
    )
    return {"Authorization": f"Bearer {issue(who, secret=IDENTITY, now=NOW)}"}


@pytest.fixture
def service(
    report_settings: Callable[..., ReportSettings], database_url: str, nats_url: str
) -> Iterator[TestClient]:
    settings = report_settings(identity_public_key=public_key_of(IDENTITY))
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        until(lambda: client.get("/readyz").status_code == 200, timeout=30)
        post(seeded_cases(), Report(client, database_url), nats_url)
        yield client


def numbers(table: dict[str, object]) -> list[object]:
    every: list[object] = [v for row in table["cells"] for v in row]  # type: ignore[attr-defined]
    for key in ("row_totals", "column_totals"):
        every += table[key] or []  # type: ignore[operator]
    return [*every, table["grand_total"]]


def test_the_coordinator_gets_exact_numbers_and_others_suppressed(service: TestClient) -> None:
    exact = service.get(
        "/api/v1/reports/monthly?month=2026-11", headers=person(PersonRole.COORDINATOR)
    )
    assert exact.status_code == 200 and exact.headers["cache-control"] == "no-store"
    body = exact.json()
    assert body["exact"] is True and body["month"] == "2026-11"
    assert any(v in (1, 2) for t in body["tables"] for v in numbers(t))  # small numbers exist
    for headers in (person(PersonRole.OFFICER), person(PersonRole.DPO), ADMIN_H):
        other = service.get("/api/v1/reports/monthly?month=2026-11&lang=en", headers=headers)
        assert other.status_code == 200 and other.headers["cache-control"] == "no-store"
        shown = other.json()
        assert shown["exact"] is False
        values = [v for t in shown["tables"] for v in numbers(t)]
        assert "<3" in values and not {1, 2, "1", "2"} & set(values)
        for t, e in zip(shown["tables"], body["tables"], strict=True):
            for s_row, e_row in zip(t["cells"], e["cells"], strict=True):
                for s, v in zip(s_row, e_row, strict=True):
                    assert s in ("<3", "x") or s == str(v)


def test_partner_staff_are_refused(service: TestClient) -> None:
    for path in ("monthly?month=2026-11", "monthly.pdf?month=2026-11", "simfoni.csv?month=2026-11"):
        answer = service.get(f"/api/v1/reports/{path}", headers=person(PersonRole.PARTNER_STAFF))
        assert answer.status_code == 403, path


@pytest.mark.parametrize("month", ["2026-13", "bulan lalu", "2027-01"])
def test_a_bad_month_is_refused_naming_month(service: TestClient, month: str) -> None:
    answer = service.get("/api/v1/reports/monthly.xlsx", params={"month": month}, headers=ADMIN_H)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["detail"]] == ["month"]


def test_the_downloads(service: TestClient, tmp_path: Path) -> None:
    coordinator = person(PersonRole.COORDINATOR)
    xlsx = service.get("/api/v1/reports/monthly.xlsx?month=2026-11", headers=coordinator)
    assert xlsx.status_code == 200 and xlsx.headers["cache-control"] == "no-store"
    assert (
        xlsx.headers["content-disposition"] == 'attachment; filename="laporan-ppatbm-2026-11.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    exact = service.get("/api/v1/reports/monthly?month=2026-11", headers=ADMIN_H).json()
    assert book.sheetnames[0] == "Ringkasan" and book.sheetnames[-2:] == ["Waktu respons", "Tren"]
    for table in exact["tables"]:
        sheet = [[c.value for c in row] for row in book[table["key"][:31]].iter_rows()]
        assert [str(v) for v in sheet[2][1 : 1 + len(table["columns"])]] == [
            str(v) for v in table["cells"][0]
        ]
    csv = service.get("/api/v1/reports/monthly.csv?month=2026-11", headers=coordinator)
    assert csv.content.startswith(b"\xef\xbb\xbf") and csv.headers["cache-control"] == "no-store"
    pdf = service.get("/api/v1/reports/monthly.pdf?month=2026-11", headers=coordinator)
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(tmp_path / "r.pdf"), str(tmp_path / "p")], check=True
    )
    assert list(tmp_path.glob("p*.png"))
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "November 2026" in text and "Laporan Bulanan PPATBM" in text
    svg = service.get(
        "/api/v1/reports/monthly/charts/victims_by_age_sex.svg?month=2026-11", headers=ADMIN_H
    )
    assert (
        svg.status_code == 200
        and svg.text.startswith("<svg")
        and svg.headers["cache-control"] == "no-store"
    )
    missing = service.get("/api/v1/reports/monthly/charts/nope.svg?month=2026-11", headers=ADMIN_H)
    assert missing.status_code == 404


def test_simfoni_is_for_the_coordinator_and_admin(service: TestClient) -> None:
    cases = seeded_cases()
    victims = sum(
        len(c.victims)
        for c in cases
        if c.reported_at.astimezone(dt.timezone(dt.timedelta(hours=8))).month == 11
        and not c.erased
        and c.merged_into is None
    )
    for headers in (person(PersonRole.COORDINATOR), ADMIN_H):
        answer = service.get("/api/v1/reports/simfoni.xlsx?month=2026-11", headers=headers)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        rows = list(openpyxl.load_workbook(io.BytesIO(answer.content))["SIMFONI-PPA"].iter_rows())
        assert len(rows) - 1 == victims
    for role in (PersonRole.OFFICER, PersonRole.DPO):
        answer = service.get("/api/v1/reports/simfoni.csv?month=2026-11", headers=person(role))
        assert answer.status_code == 403
