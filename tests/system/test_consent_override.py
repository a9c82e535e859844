"""A child's consent override waits for the coordinator: intake, referral and notify running as
processes on a real nats-server. Before confirmation referral makes no referral and no partner
stream holds a request for the case; after it, the case is referred like any other."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx

from jejaring.testing import THREE_WAY_CASE, until

CHILD = {"name": "Putri Ayu Lestari", "sex": "female", "age": 12}
SCOPE = THREE_WAY_CASE["consent"]["scope"]


def child_case(consent: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(THREE_WAY_CASE)
    body.update(victims=[CHILD], consent={"scope": SCOPE, **consent})
    return body


def referrals_of(system: Any, case_id: str) -> set[tuple[str, str]]:
    rows = asyncio.run(
        system._rows("referral", "SELECT case_id, service, partner_slug FROM referral")
    )
    return {
        (r.service, r.partner_slug)
        for r in rows
        if str(r.case_id).replace("-", "") == case_id.replace("-", "")
    }


def partner_requests(system: Any, slugs: set[str]) -> int:
    return sum(
        len(asyncio.run(system._stream("AGENCY_" + slug.upper().replace("-", "_"))))
        for slug in slugs
    )


def wait_for(predicate: Any, timeout: float = 60) -> Any:
    return until(predicate, timeout, every=0.5)


def test_no_referral_before_the_coordinator_confirms_the_override(system: Any) -> None:
    admin = {"Authorization": f"Bearer {system.env('intake')['INTAKE_ADMIN_TOKEN']}"}
    with httpx.Client(base_url=system.url("intake"), timeout=10) as intake:
        r = intake.post(
            "/api/v1/users", json={"name": "Ibu Rina", "role": "coordinator"}, headers=admin
        )
        coordinator = {"Authorization": f"Bearer {r.json()['token']}"}
        override = {"given_by": "override", "override_reason": "child_in_danger"}
        waiting = intake.post(
            "/api/v1/cases", json=child_case(override), headers=system.officer
        ).json()
        assert waiting["override_status"] == "pending"
        # the same case with a guardian's consent, recorded after it: referred meanwhile
        control = intake.post(
            "/api/v1/cases", json=child_case({"given_by": "guardian"}), headers=system.officer
        ).json()
        expected = wait_for(lambda: referrals_of(system, control["id"]))
        slugs = {slug for _, slug in expected}
        wait_for(lambda: partner_requests(system, slugs) == len(expected))
        time.sleep(2)  # referral's relay polls every 0.5 s: anything routed would show by now

        assert referrals_of(system, waiting["id"]) == set()
        assert partner_requests(system, slugs) == len(expected)
        line = {
            c["id"]: c for c in intake.get("/api/v1/cases", headers=coordinator).json()["items"]
        }
        assert line[waiting["id"]]["override_status"] == "pending"

        r = intake.post(f"/api/v1/cases/{waiting['id']}/override/confirm", headers=coordinator)
        assert r.status_code == 200, r.text

        assert wait_for(lambda: referrals_of(system, waiting["id"]) == expected)
        wait_for(lambda: partner_requests(system, slugs) == 2 * len(expected))
    print(f"\n  referrals before confirmation 0, after {len(expected)}")
