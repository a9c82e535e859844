"""The issue's proof: a known set of cases posted through the real intake, routed by the real
referral service and answered by the partners over its API at known times (the services'
clocks are the test's), counted by the report service, all on one nats-server. Every cell of
the November report equals the count made here from what was posted and answered, and each
partner's median and 90th percentile are those of its answers' times."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app as create_intake
from jejaring.intake.settings import IntakeSettings
from jejaring.referral.app import create_app as create_referral
from jejaring.referral.settings import ReferralSettings
from jejaring.report import monthly
from jejaring.report.app import create_app as create_report
from jejaring.report.model import Label, MonthlyReport, Table
from jejaring.report.settings import ReportSettings
from jejaring.shared import db
from jejaring.shared.region import load_region
from jejaring.testing import until

ADMIN = "admin-token-for-tests-0123456789"
ADMIN_H = {"Authorization": f"Bearer {ADMIN}"}
WITA = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=WITA)
REGION = load_region()
KECAMATAN = Label(REGION.kecamatan.code, REGION.kecamatan.name, REGION.kecamatan.name)
SERVICE_PARTNER = {
    "law_enforcement": "polresta-ppa",
    "security_escort": "babinsa-bpp-tengah",
    "legal_aid": "posbakum-aisyiyah",
    "counselling": "bikksa-mentari",
}


@dataclass(frozen=True)
class Posted:
    """A case as posted, with how each referral of it is answered: ("accept", minutes,
    then "completed"/"failed"/None), ("reject",) or ("overdue",); a need no partner offers
    is left out of `answers`."""

    kelurahan: str
    risk: str
    place: str
    forms: tuple[str, ...]
    victims: tuple[tuple[str, int], ...]  # (sex, age)
    relationship: str | None
    needs: tuple[str, ...]
    answers: dict[str, tuple[Any, ...]]
    outcome: str | None = None


K = [k.code for k in REGION.kelurahan]
CASES = (
    Posted(
        K[0],
        "medium",
        "household",
        ("physical", "psychological"),
        (("female", 34),),
        "spouse",
        ("law_enforcement", "counselling"),
        {"law_enforcement": ("accept", 20, "completed"), "counselling": ("accept", 45, None)},
        outcome="resolved",
    ),
    Posted(
        K[1],
        "low",
        "school",
        ("sexual",),
        (("female", 14), ("male", 9)),
        "teacher",
        ("legal_aid", "counselling"),
        {"legal_aid": ("reject",), "counselling": ("accept", 130, "failed")},
    ),
    Posted(
        K[2],
        "medium",
        "public_facility",
        ("physical",),
        (("male", 70),),
        None,
        ("law_enforcement", "shelter"),
        {"law_enforcement": ("accept", 75, None)},
    ),
    Posted(
        K[3],
        "low",
        "workplace",
        ("exploitation", "psychological"),
        (("female", 22),),
        "employer",
        ("legal_aid",),
        {"legal_aid": ("overdue",)},
    ),
    Posted(
        K[4],
        "medium",
        "household",
        ("neglect",),
        (("female", 3),),
        "parent",
        ("counselling", "security_escort"),
        {"counselling": ("reject",), "security_escort": ("accept", 10, None)},
    ),
    Posted(
        K[5],
        "medium",
        "other",
        ("other",),
        (("male", 17),),
        "relative",
        (),
        {},
        outcome="withdrawn",
    ),
    Posted(
        K[0],
        "low",
        "household",
        ("psychological",),
        (("female", 41),),
        "spouse",
        ("law_enforcement",),
        {"law_enforcement": ("accept", 300, None)},
    ),
)


def age_group(age: int) -> str:
    bounds = ((5, "0-5"), (12, "6-12"), (17, "13-17"), (24, "18-24"), (44, "25-44"), (59, "45-59"))
    return next((group for upper, group in bounds if age <= upper), "60+")


def body(case: Posted, reported_at: dt.datetime) -> dict[str, Any]:
    return {
        "kelurahan_code": case.kelurahan,
        "reported_at": reported_at.isoformat(),
        "place": case.place,
        "violence_forms": list(case.forms),
        "risk_level": case.risk,
        "reporter": {"kind": "neighbour"},
        "victims": [
            {"name": f"Korban {n}", "sex": s, "age": a} for n, (s, a) in enumerate(case.victims)
        ],
        **(
            {"perpetrator": {"relationship": case.relationship, "sex": "male"}}
            if case.relationship
            else {}
        ),
        "needs": list(case.needs),
        "consent": {
            "given_by": "guardian" if min(a for _, a in case.victims) < 18 else "victim",
            "scope": [
                "police",
                "tni",
                "legal_aid",
                "counselling",
                "government",
                "health",
                "shelter",
                "social_service",
            ],
        },
        "legal_aid_proof": {"kind": "sktm", "number": "SKTM/1"},
    }


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.UTC)


@pytest.fixture
def services(
    service_dbs: dict[str, str], nats_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, TestClient, TestClient, Clock, str]]:
    clock = Clock(T0)
    common: dict[str, Any] = {"nats_url": nats_url, "data_dir": tmp_path, "admin_token": ADMIN}
    intake = create_intake(
        IntakeSettings(**common, database_url=service_dbs["intake"]), clock=clock
    )
    referral = create_referral(
        ReferralSettings(
            **common, database_url=service_dbs["referral"], deadline_check_interval_s=0.1
        ),
        clock=clock,
    )
    report = create_report(ReportSettings(**common, database_url=service_dbs["report"]))
    with TestClient(intake) as i, TestClient(referral) as r, TestClient(report) as p:
        until(lambda: all(c.get("/readyz").status_code == 200 for c in (i, r, p)), timeout=60)
        yield i, r, p, clock, service_dbs["report"]


def build(database_url: str) -> MonthlyReport:
    async def go() -> MonthlyReport:
        engine = db.create_engine(database_url)
        try:
            async with db.session_factory(engine)() as session:
                return await monthly.build(session, month="2026-11", kecamatan=KECAMATAN, now=T0)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cells(table: Table) -> dict[tuple[str, str], int]:
    return {
        (row.code, column.code): table.cells[i][j]
        for i, row in enumerate(table.rows)
        for j, column in enumerate(table.columns)
        if table.cells[i][j]
    }


def test_every_cell_of_november_is_the_count_of_what_was_posted_and_answered(
    services: tuple[TestClient, TestClient, TestClient, Clock, str],
) -> None:
    intake, referral, _report, clock, report_db = services
    officers = {}
    for code in sorted({c.kelurahan for c in CASES}):
        user = intake.post(
            "/api/v1/users",
            json={"name": "Ibu Wulan", "role": "officer", "kelurahan_code": code},
            headers=ADMIN_H,
        )
        assert user.status_code == 201, user.text
        officers[code] = {"Authorization": f"Bearer {user.json()['token']}"}
    references = []
    for n, case in enumerate(CASES):
        posted = intake.post(
            "/api/v1/cases",
            json=body(case, T0 - dt.timedelta(minutes=30 + n)),
            headers=officers[case.kelurahan],
        )
        assert posted.status_code == 201, posted.text
        references.append((posted.json()["id"], posted.json()["reference"]))

    partners = {}
    for slug in sorted(set(SERVICE_PARTNER.values())):
        token = referral.post(f"/api/v1/partners/{slug}/token", headers=ADMIN_H).json()["token"]
        partners[slug] = {"Authorization": f"Bearer {token}"}
    wanted = sum(len(c.answers) for c in CASES)

    def referrals() -> dict[tuple[str, str], dict[str, Any]]:
        found = {}
        for slug, h in partners.items():
            for r in referral.get(f"/api/v1/partners/{slug}/referrals", headers=h).json():
                found[(r["case_reference"], r["service"])] = {**r, "slug": slug}
        return found

    routed = until(lambda: len(found := referrals()) == wanted and found, timeout=60)

    # the answers, in the order of their times
    steps = []
    for (_, reference), case in zip(references, CASES, strict=True):
        for service, answer in case.answers.items():
            r = routed[(reference, service)]
            if answer[0] == "accept":
                steps.append((answer[1], r, "accepted"))
                if answer[2]:
                    steps.append((answer[1] + 600, r, answer[2]))
            elif answer[0] == "reject":
                steps.append((90, r, "rejected"))
    for minutes, r, status in sorted(steps, key=lambda s: s[0]):
        clock.now = T0 + dt.timedelta(minutes=minutes)
        reply = {
            "status": status,
            **({"reason": "Kapasitas penuh"} if status in ("rejected", "failed") else {}),
        }
        if status in ("completed", "failed"):
            # FHIR: accepted -> in-progress -> completed/failed
            moved = referral.post(
                f"/api/v1/referrals/{r['id']}/status",
                json={"status": "in-progress"},
                headers=partners[r["slug"]],
            )
            assert moved.status_code == 200, moved.text
        answered_now = referral.post(
            f"/api/v1/referrals/{r['id']}/status", json=reply, headers=partners[r["slug"]]
        )
        assert answered_now.status_code == 200, answered_now.text
    # closures, then past the low-risk deadline (72 h): the unanswered one is overdue
    clock.now = T0 + dt.timedelta(days=1)
    for (case_id, _), case in zip(references, CASES, strict=True):
        if case.outcome:
            closed = intake.post(
                f"/api/v1/cases/{case_id}/close",
                json={"outcome": case.outcome},
                headers=officers[case.kelurahan],
            )
            assert closed.status_code == 200, closed.text
    clock.now = T0 + dt.timedelta(hours=73)

    def done() -> MonthlyReport | None:
        got = build(report_db)
        partner = got.table("referrals_by_partner")
        col = [c.code for c in partner.columns]
        escalated = partner.column_total(col.index("escalated"))
        closed = got.table("cases_closed_by_outcome").grand_total()
        ready = got.table("cases_by_kelurahan").grand_total() == len(CASES)
        return got if ready and escalated == 1 and closed == 2 else None

    got = until(done, timeout=60)
    until(lambda: (g := build(report_db)) == got and g, timeout=5)  # nothing more comes

    victims = [(c, s, age_group(a)) for c in CASES for s, a in c.victims]
    answered = [(c, service, a) for c in CASES for service, a in c.answers.items()]
    expected = {
        "cases_by_kelurahan": Counter((c.kelurahan, c.risk) for c in CASES),
        "victims_by_kelurahan_form": Counter(
            (c.kelurahan, f) for c, _, _ in victims for f in c.forms
        ),
        "victims_by_age_sex": Counter((g, s) for _, s, g in victims),
        "victims_by_form_sex": Counter((f, s) for c, s, _ in victims for f in c.forms),
        "cases_by_place": Counter((c.place, "cases") for c in CASES),
        "cases_by_relationship": Counter(
            (c.relationship or "not_recorded", "cases") for c in CASES
        ),
        "needs": Counter((n, "needed") for c in CASES for n in c.needs)
        + Counter((n, "unmet") for c in CASES for n in c.needs if n not in c.answers),
        "referrals_by_partner": Counter(
            (SERVICE_PARTNER[service], column)
            for c, service, a in answered
            for column in (
                "received",
                *(("accepted",) if a[0] == "accept" else ()),
                *(("rejected",) if a[0] == "reject" else ()),
                *(("overdue", "escalated") if a[0] == "overdue" else ()),
                *((a[2],) if a[0] == "accept" and a[2] else ()),
                # closing a case cancels its referrals still open
                *(("cancelled",) if c.outcome and a[0] != "reject" and a[-1] is None else ()),
            )
        ),
        # referral's answer API takes no reason code yet: every rejection is "no code given"
        "rejections_by_reason": Counter(
            (SERVICE_PARTNER[service], "no_code") for _, service, a in answered if a[0] == "reject"
        ),
        "cases_closed_by_outcome": Counter((c.outcome, "cases") for c in CASES if c.outcome),
    }
    assert [t.key for t in got.tables] == list(expected)
    for table in got.tables:
        assert cells(table) == +expected[table.key], table.key
    assert cells(got.trend) == {
        ("2026-11", "cases"): len(CASES),
        ("2026-11", "victims"): len(victims),
        ("2026-11", "child_victims"): sum(
            age_group(a) in ("0-5", "6-12", "13-17") for c in CASES for _, a in c.victims
        ),
        ("2026-11", "referrals"): len(answered),
        ("2026-11", "accepted"): sum(a[0] == "accept" for _, _, a in answered),
        ("2026-11", "unmet"): 1,
    }
    for timing in got.timings:
        minutes = sorted(
            a[1]
            for _, s, a in answered
            if SERVICE_PARTNER[s] == timing.partner.code and a[0] == "accept"
        )
        received = [a for _, s, a in answered if SERVICE_PARTNER[s] == timing.partner.code]
        assert timing.accepted == len(minutes)
        if minutes:
            assert timing.median_minutes == statistics.median(minutes)
            p90 = (
                minutes[0]
                if len(minutes) == 1
                else statistics.quantiles(minutes, n=10, method="inclusive")[8]
            )
            assert timing.p90_minutes == round(p90, 1)
        overdue = sum(a[0] == "overdue" for a in received)
        assert timing.overdue_percent == round(100 * overdue / len(received), 1)
    bikksa = next(t for t in got.timings if t.partner.code == "bikksa-mentari")
    assert (bikksa.accepted, bikksa.median_minutes, bikksa.p90_minutes) == (2, 87.5, 121.5)
