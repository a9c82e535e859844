"""Intake's HTTP API as officers, the coordinator and the admin use it (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.testing import EXAMPLE_CASE, ShiftedClock

ADMIN = "admin-token-for-tests-0123456789"
KARANG_REJO = "64.71.04.1003"
MEKAR_SARI = "64.71.04.1005"
VICTIM = "Putri Ayu Lestari"
WITA = dt.timezone(dt.timedelta(hours=8))

CASE: dict[str, Any] = copy.deepcopy(EXAMPLE_CASE)
assert CASE["victims"][0]["name"] == VICTIM
assert CASE["kelurahan_code"] == KARANG_REJO


def case(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CASE)
    body.update(changes)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Intake:
    def __init__(self, client: TestClient, database_url: str, clock: ShiftedClock) -> None:
        self.client = client
        self.database_url = database_url
        self.clock = clock
        self.tokens: dict[str, str] = {}

    def user(self, name: str, role: str, kelurahan: str | None = None) -> str:
        body: dict[str, Any] = {"name": name, "role": role, "phone": "081300000001"}
        if kelurahan:
            body["kelurahan_code"] = kelurahan
        r = self.client.post("/api/v1/users", json=body, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def post(self, token: str, body: dict[str, Any]) -> Any:
        return self.client.post("/api/v1/cases", json=body, headers=bearer(token))

    def outbox_subjects(self) -> list[str]:
        """What the case transactions wrote to the outbox, read in the app's own event loop."""
        runtime = self.client.app.state.runtime  # type: ignore[attr-defined]

        async def read() -> list[str]:
            async with runtime.sessions() as session:
                rows = await session.execute(text("SELECT subject FROM outbox ORDER BY id"))
                return [row[0] for row in rows.all()]

        assert self.client.portal is not None
        return self.client.portal.call(read)


@pytest.fixture
def intake(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Intake]:
    settings = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
    )
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WITA))  # an hour after CASE
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield Intake(client, database_url, clock)


@pytest.fixture
def officer(intake: Intake) -> str:
    return intake.user("Ibu Wulan", "officer", KARANG_REJO)


def assert_refused(response: Any, field: str, code: str | None = None) -> dict[str, str]:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    match = [e for e in errors if e["field"] == field and (code is None or e["code"] == code)]
    assert match, errors
    error: dict[str, str] = match[0]
    assert error["message"]
    assert error["message_en"]
    assert VICTIM not in response.text, "an error must never echo personal data"
    return error


# --- the officer's path ------------------------------------------------------------------------


def test_an_officer_records_reads_and_lists_only_their_kelurahan(
    intake: Intake, officer: str
) -> None:
    created = intake.post(officer, CASE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"/api/v1/cases/{body['id']}"
    assert body["reference"] == "BPT-2026-000001"
    assert body["kelurahan"] == {"code": KARANG_REJO, "name": "Karang Rejo"}
    assert body["reported_at"] == "2026-11-20T09:00:00+08:00"
    victim = body["victims"][0]
    assert (victim["age"], victim["age_group"], victim["is_child"]) == (12, "6-12", True)
    assert body["status"] == "open"
    assert body["version"] == 1
    assert body["referrals"] == []

    read = intake.client.get(f"/api/v1/cases/{body['id']}", headers=bearer(officer))
    assert read.status_code == 200
    assert read.json() == body

    other = intake.user("Pak Budi", "officer", MEKAR_SARI)
    theirs = intake.post(other, case(kelurahan_code=MEKAR_SARI)).json()
    assert theirs["reference"] == "BPT-2026-000002"

    listed = intake.client.get("/api/v1/cases", headers=bearer(officer)).json()
    assert [c["reference"] for c in listed["items"]] == ["BPT-2026-000001"]
    assert listed["total"] == 1
    assert VICTIM not in json.dumps(listed), "the list shows no victim names"

    hidden = intake.client.get(f"/api/v1/cases/{theirs['id']}", headers=bearer(officer))
    assert hidden.status_code == 404


def test_the_coordinator_sees_every_kelurahan_and_filters(intake: Intake, officer: str) -> None:
    other = intake.user("Pak Budi", "officer", MEKAR_SARI)
    intake.post(officer, CASE)
    intake.post(other, case(kelurahan_code=MEKAR_SARI, risk_level="low"))
    coordinator = intake.user("Kasi Kesos", "coordinator")
    get = intake.client.get
    everything = get("/api/v1/cases", headers=bearer(coordinator)).json()
    assert everything["total"] == 2
    low = get("/api/v1/cases", params={"risk": "low"}, headers=bearer(coordinator)).json()
    assert [c["kelurahan_code"] for c in low["items"]] == [MEKAR_SARI]
    kr = get("/api/v1/cases", params={"kelurahan": KARANG_REJO}, headers=bearer(coordinator)).json()
    assert [c["kelurahan_code"] for c in kr["items"]] == [KARANG_REJO]
    dated = get(
        "/api/v1/cases",
        params={"from": "2026-11-21", "to": "2026-11-30"},
        headers=bearer(coordinator),
    ).json()
    assert dated["total"] == 0
    paged = get(
        "/api/v1/cases", params={"per_page": 1, "page": 2}, headers=bearer(coordinator)
    ).json()
    assert (len(paged["items"]), paged["total"], paged["page"]) == (1, 2, 2)


def test_update_and_close_publish_events_with_the_case(intake: Intake, officer: str) -> None:
    created = intake.post(officer, CASE).json()
    url = f"/api/v1/cases/{created['id']}"
    patched = intake.client.patch(
        url, json={"add_needs": ["health"], "risk_level": "medium"}, headers=bearer(officer)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["needs"] == ["protection", "legal_aid", "counselling", "health"]
    assert patched.json()["version"] == 2
    unchanged = intake.client.patch(url, json={"add_needs": ["health"]}, headers=bearer(officer))
    assert unchanged.json()["version"] == 2, "nothing changed, nothing published"

    closed = intake.client.post(
        f"{url}/close", json={"outcome": "resolved"}, headers=bearer(officer)
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    again = intake.client.patch(url, json={"risk_level": "low"}, headers=bearer(officer))
    assert again.status_code == 409
    assert intake.outbox_subjects() == ["case.v1.created", "case.v1.updated", "case.v1.closed"]


def test_a_refused_case_leaves_nothing_behind(intake: Intake, officer: str) -> None:
    refused = intake.post(officer, case(needs=["mediation"], violence_forms=["sexual"]))
    assert refused.status_code == 422
    assert intake.outbox_subjects() == []
    coordinator = intake.user("Kasi Kesos", "coordinator")
    assert intake.client.get("/api/v1/cases", headers=bearer(coordinator)).json()["total"] == 0


@pytest.mark.parametrize("field", ["address", "disability"])
def test_victim_text_longer_than_the_event_takes_is_422_and_records_nothing(
    intake: Intake, officer: str, field: str
) -> None:
    """A victim's address or disability travels in case.v1.created, whose fields take 200
    characters; the API took 300, so 201-300 was a 500. Now 422, naming the field."""
    victim = {**CASE["victims"][0], field: "Jl. " + "x" * 246}
    refused = intake.post(officer, case(victims=[victim]))
    error = assert_refused(refused, f"victims.0.{field}", "string_too_long")
    assert "200" in error["message_en"]
    assert intake.outbox_subjects() == []
    coordinator = intake.user("Kasi Kesos", "coordinator")
    assert intake.client.get("/api/v1/cases", headers=bearer(coordinator)).json()["total"] == 0
    victim = {**CASE["victims"][0], field: "Jl. " + "x" * 196}
    assert intake.post(officer, case(victims=[victim])).status_code == 201


def test_check_answers_like_a_post_and_records_nothing(intake: Intake, officer: str) -> None:
    """POST /cases/check: the web app's check-your-answers step, before a case is sent."""

    def check(body: dict[str, Any], token: str = officer) -> Any:
        return intake.client.post("/api/v1/cases/check", json=body, headers=bearer(token))

    fine = check(CASE)
    assert fine.status_code == 204, fine.text
    assert fine.content == b""
    r1 = case(violence_forms=["sexual"], needs=["mediation"])
    assert check(r1).json() == intake.post(officer, r1).json()
    assert_refused(check(r1), "needs", "r1_no_mediation_sexual_violence")
    child_alone = case(consent={"given_by": "victim", "scope": ["police"]})
    assert_refused(check(child_alone), "consent.given_by", "r5_child_needs_guardian_consent")
    assert_refused(check(case(place="moon")), "place")
    assert check(case(kelurahan_code=MEKAR_SARI)).status_code == 403
    assert check(CASE, ADMIN).status_code == 403
    assert intake.client.post("/api/v1/cases/check", json=CASE).status_code == 401
    assert intake.outbox_subjects() == []
    coordinator = intake.user("Kasi Kesos", "coordinator")
    assert intake.client.get("/api/v1/cases", headers=bearer(coordinator)).json()["total"] == 0


# --- who may do what -------------------------------------------------------------------------


def test_tokens_and_roles(intake: Intake, officer: str) -> None:
    get, post = intake.client.get, intake.client.post
    assert get("/api/v1/cases").status_code == 401
    bad = get("/api/v1/cases", headers=bearer("not-a-token"))
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    assert get("/api/v1/cases", headers={"Authorization": "Basic abc"}).status_code == 401
    assert get("/api/v1/cases", headers=bearer(ADMIN)).status_code == 403, "admins manage users"
    assert (
        post(
            "/api/v1/users", json={"name": "X", "role": "admin"}, headers=bearer(officer)
        ).status_code
        == 403
    )
    elsewhere = intake.post(officer, case(kelurahan_code=MEKAR_SARI))
    assert elsewhere.status_code == 403
    users = get("/api/v1/users", headers=bearer(ADMIN)).json()
    assert [u["role"] for u in users] == ["officer"]
    assert "token" not in users[0]


def test_an_officer_must_be_bound_to_a_known_kelurahan(intake: Intake) -> None:
    r = intake.client.post(
        "/api/v1/users", json={"name": "A", "role": "officer"}, headers=bearer(ADMIN)
    )
    assert_refused(r, "kelurahan_code", "officer_needs_kelurahan")
    r = intake.client.post(
        "/api/v1/users",
        json={"name": "A", "role": "officer", "kelurahan_code": "64.71.01.1001"},
        headers=bearer(ADMIN),
    )
    assert_refused(r, "kelurahan_code", "unknown_kelurahan")


# --- the rules at the door -------------------------------------------------------------------


def test_r1_no_mediation_for_sexual_violence(intake: Intake, officer: str) -> None:
    body = case(violence_forms=["sexual"], needs=["mediation", "counselling"])
    error = assert_refused(intake.post(officer, body), "needs", "r1_no_mediation_sexual_violence")
    assert "TPKS" in error["message"]
    assert "Mediation is not allowed" in error["message_en"]
    child_perpetrator = {**body, "perpetrator": {"relationship": "other", "is_child": True}}
    assert intake.post(officer, child_perpetrator).status_code == 201
    counselling_only = case(violence_forms=["sexual"], needs=["counselling"])
    assert intake.post(officer, counselling_only).status_code == 201


def test_r1_holds_when_mediation_is_added_later(intake: Intake, officer: str) -> None:
    created = intake.post(officer, case(violence_forms=["sexual"], needs=["counselling"])).json()
    r = intake.client.patch(
        f"/api/v1/cases/{created['id']}", json={"add_needs": ["mediation"]}, headers=bearer(officer)
    )
    assert_refused(r, "add_needs", "r1_no_mediation_sexual_violence")


def test_r5_a_child_needs_guardian_consent_or_a_recorded_override(
    intake: Intake, officer: str
) -> None:
    by_child = case(consent={"given_by": "victim", "scope": ["police"]})
    error = assert_refused(
        intake.post(officer, by_child), "consent.given_by", "r5_child_needs_guardian_consent"
    )
    assert "Pasal 25" in error["message"]
    override = case(consent={"given_by": "override", "scope": ["police"]})
    assert_refused(
        intake.post(officer, override), "consent.override_reason", "r5_override_reason_missing"
    )
    recorded = case(
        consent={
            "given_by": "override",
            "scope": ["police"],
            "override_reason": "guardian_is_alleged_perpetrator",
        }
    )
    created = intake.post(officer, recorded)
    assert created.status_code == 201
    assert created.json()["consent"]["override_reason"] == "guardian_is_alleged_perpetrator"
    adult = case(
        victims=[{**CASE["victims"][0], "birth_date": "1990-01-01"}],
        consent={"given_by": "victim", "scope": ["police"]},
    )
    assert intake.post(officer, adult).status_code == 201


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"kelurahan_code": "64.71.01.1001"}, "kelurahan_code", "unknown_kelurahan"),
        ({"place": "kitchen"}, "place", "enum"),
        ({"violence_forms": ["physical", "slander"]}, "violence_forms.1", "enum"),
        ({"needs": ["exorcism"]}, "needs.0", "enum"),
        ({"risk_level": "extreme"}, "risk_level", "enum"),
        ({"violence_forms": []}, "violence_forms", "too_short"),
        ({"victims": []}, "victims", "too_short"),
        ({"reported_at": "2099-01-01T09:00:00+08:00"}, "reported_at", "date_in_future"),
        ({"incident_date": "2026-11-21"}, "incident_date", "incident_after_report"),
        ({"incident_date": "2026-02-30"}, "incident_date", None),
        ({"reported_at": "yesterday"}, "reported_at", "datetime_from_date_parsing"),
        ({"description": "x" * 4001}, "description", "string_too_long"),
        ({"victims": [CASE["victims"][0]] * 21}, "victims", "too_long"),
        ({"reporter": {"kind": "ghost"}}, "reporter.kind", "literal_error"),
        ({"surprise": 1}, "surprise", "extra_forbidden"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    intake: Intake, officer: str, changes: dict[str, Any], field: str, code: str | None
) -> None:
    assert_refused(intake.post(officer, case(**changes)), field, code)


def test_impossible_victim_ages_are_refused(intake: Intake, officer: str) -> None:
    v = CASE["victims"][0]
    no_age = {k: val for k, val in v.items() if k != "birth_date"}
    assert_refused(
        intake.post(officer, case(victims=[no_age])), "victims.0.birth_date", "age_missing"
    )
    unborn = {**v, "birth_date": "2030-01-01"}
    assert_refused(
        intake.post(officer, case(victims=[unborn])), "victims.0.birth_date", "birth_after_report"
    )
    ancient = {**v, "birth_date": "1850-01-01"}
    assert_refused(
        intake.post(officer, case(victims=[ancient])), "victims.0.birth_date", "impossible_age"
    )
    stated = {**no_age, "age": 15}
    assert intake.post(officer, case(victims=[stated])).json()["victims"][0]["age_group"] == "13-17"


def test_the_day_and_the_year_are_wita_ones_not_utc_ones(intake: Intake, officer: str) -> None:
    """At 00:30 WITA on 1 January it is still 31 December in UTC: the new year's numbering has
    begun, an incident of that day is not in the future, and a child born on 1 January 2009
    turned 18 that morning."""
    intake.clock.set(dt.datetime(2026, 12, 31, 23, 30, tzinfo=WITA))
    assert intake.post(officer, CASE).json()["reference"] == "BPT-2026-000001"

    intake.clock.set(dt.datetime(2027, 1, 1, 0, 30, tzinfo=WITA))  # 16:30 UTC, 31 December
    birthday = {"name": VICTIM, "sex": "female", "birth_date": "2009-01-01"}
    first = case(
        reported_at="2027-01-01T00:10:00+08:00",
        incident_date="2027-01-01",
        victims=[birthday],
        consent={"given_by": "victim", "scope": ["police", "tni", "legal_aid", "counselling"]},
    )
    created = intake.post(officer, first)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["reference"] == "BPT-2027-000001"
    victim = body["victims"][0]
    assert (victim["age"], victim["age_group"], victim["is_child"]) == (18, "18-24", False)

    day_before = case(reported_at="2026-12-31T23:50:00+08:00", victims=[birthday])
    victim = intake.post(officer, day_before).json()["victims"][0]
    assert (victim["age"], victim["is_child"]) == (17, True), "a child until her birthday"

    tomorrow = case(reported_at="2027-01-01T00:10:00+08:00", incident_date="2027-01-02")
    assert_refused(intake.post(officer, tomorrow), "incident_date", "incident_after_report")


def test_malformed_and_oversized_bodies(intake: Intake, officer: str) -> None:
    r = intake.client.post(
        "/api/v1/cases",
        content=b"{not json",
        headers={**bearer(officer), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["code"] == "json_invalid"
    assert r.json()["detail"][0]["field"] == "body"
    r = intake.client.post("/api/v1/cases", json=[1, 2], headers=bearer(officer))
    assert r.status_code == 422
    big = intake.client.post(
        "/api/v1/cases",
        content=b'{"description": "' + b"x" * 300_000 + b'"}',
        headers={**bearer(officer), "Content-Type": "application/json"},
    )
    assert big.status_code == 413
    assert big.json()["detail"][0]["field"] == "body"
    assert intake.client.get("/api/v1/cases/not-a-uuid", headers=bearer(officer)).status_code == 422


# --- the coordinator's board ---------------------------------------------------------------------


def test_the_coordinators_board_lists_what_needs_action_oldest_first(
    intake: Intake, officer: str
) -> None:
    import uuid

    from jejaring.intake import read_model
    from jejaring.shared.contract import events as ev
    from jejaring.shared.contract.enums import BusinessStatus, ReferralStatus, Service
    from jejaring.testing import sample_events

    other = intake.user("Pak Budi", "officer", MEKAR_SARI)
    first = intake.post(officer, CASE).json()  # high risk, Karang Rejo
    intake.clock.set(intake.clock() + dt.timedelta(minutes=10))
    second = intake.post(other, case(kelurahan_code=MEKAR_SARI, risk_level="low")).json()
    closed = intake.post(officer, case(risk_level="low")).json()
    intake.client.post(
        f"/api/v1/cases/{closed['id']}/close", json={"outcome": "resolved"}, headers=bearer(officer)
    )
    now = intake.clock()
    base = next(e for e in sample_events() if isinstance(e, ev.ReferralStatusChanged))

    def fact(c: dict[str, Any], service: str, slug: str, status: str, **more: Any) -> Any:
        return base.model_copy(
            update={
                "referral_id": uuid.uuid4(),
                "case_id": uuid.UUID(c["id"]),
                "case_reference": c["reference"],
                "partner_slug": slug,
                "service": Service(service),
                "kelurahan_code": c["kelurahan"]["code"],
                "status": ReferralStatus(status),
                "sequence": 1,
                "accept_by": now + dt.timedelta(hours=1),
                "occurred_at": now,
                **more,
            }
        )

    police = fact(first, "law_enforcement", "polresta-ppa", "requested")
    legal = fact(
        first,
        "legal_aid",
        "posbakum-aisyiyah",
        "accepted",
        business_status=(BusinessStatus.ELIGIBILITY_PENDING,),
    )
    overdue = fact(
        second,
        "counselling",
        "bikksa-mentari",
        "requested",
        business_status=(BusinessStatus.OVERDUE,),
    )
    past = fact(
        first, "security_escort", "babinsa-bpp-tengah", "requested",
        accept_by=now - dt.timedelta(minutes=5),
    )  # fmt: skip
    on_closed = fact(
        closed, "counselling", "bikksa-mentari", "requested",
        business_status=(BusinessStatus.ESCALATED,),
    )  # fmt: skip
    unmet = ev.ReferralNeedUnmet(
        case_id=uuid.UUID(second["id"]),
        case_reference=second["reference"],
        kelurahan_code=MEKAR_SARI,
        service=Service("shelter"),
        reason="no active partner offers shelter in 64.71.04.1005",
        occurred_at=now,
    )
    runtime = intake.client.app.state.runtime  # type: ignore[attr-defined]

    async def feed() -> None:
        async with runtime.sessions() as session, session.begin():
            for f in (police, legal, overdue, past, on_closed):
                await read_model.record_referral_fact(session, fact=f)
            await read_model.record_unmet_need(session, fact=unmet)

    assert intake.client.portal is not None
    intake.client.portal.call(feed)

    coordinator = intake.user("Kasi Kesos", "coordinator")
    answer = intake.client.get("/api/v1/board", headers=bearer(coordinator))
    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert VICTIM not in answer.text, "the board shows no victim's name"
    assert dt.datetime.fromisoformat(board["as_of"]).utcoffset() == dt.timedelta(hours=8)
    # late: past its deadline (oldest deadline first), then marked overdue; the closed case's
    # escalated referral is not there
    assert [(i["case"]["reference"], i["referral"]["partner_slug"]) for i in board["late"]] == [
        (first["reference"], "babinsa-bpp-tengah"),
        (second["reference"], "bikksa-mentari"),
    ]
    assert board["late"][1]["case"]["kelurahan"] == {"code": MEKAR_SARI, "name": "Mekar Sari"}
    assert board["late"][1]["referral"]["business_status"] == ["overdue"]
    assert [(i["case"]["id"], i["need"]["service"]) for i in board["unmet"]] == [
        (second["id"], "shelter")
    ]
    assert [i["referral"]["service"] for i in board["eligibility_pending"]] == ["legal_aid"]
    high = board["high_risk_unaccepted"]
    assert [i["case"]["reference"] for i in high] == [first["reference"]]
    assert [r["service"] for r in high[0]["referrals"]] == ["law_enforcement", "security_escort"]

    mekar = intake.client.get(
        "/api/v1/board", params={"kelurahan": MEKAR_SARI}, headers=bearer(coordinator)
    ).json()
    assert [i["case"]["reference"] for i in mekar["late"]] == [second["reference"]]
    assert mekar["high_risk_unaccepted"] == [] and mekar["eligibility_pending"] == []

    # the board is the coordinator's only
    assert intake.client.get("/api/v1/board", headers=bearer(officer)).status_code == 403
    assert intake.client.get("/api/v1/board", headers=bearer(ADMIN)).status_code == 403
    assert intake.client.get("/api/v1/board").status_code == 401
