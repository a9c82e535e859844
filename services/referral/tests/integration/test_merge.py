"""Merging a duplicate case (issue 20, item 5) on a real nats-server with intake and referral
running: the kept case keeps every referral of both and their answers, given before the merge
or after it; nothing is cancelled and no partner is told to stop."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa

from jejaring.shared import db
from jejaring.shared.contract import envelope
from jejaring.shared.contract.events import ReferralCancelled
from jejaring.testing import until

from .test_closed_loop import ADMIN_H, CASE, Loop, loop  # noqa: F401 (the fixture)

VICTIM = {**CASE["victims"][0], "birth_date": "1992-03-04"}
VICTIM.pop("age")


def answer(services: Loop, slug: str, reference: str, status: str) -> None:
    """The partner `slug` answers its referral of the case `reference` over HTTP."""
    token = services.referral.post(f"/api/v1/partners/{slug}/token", headers=ADMIN_H).json()[
        "token"
    ]
    partner = {"Authorization": f"Bearer {token}"}
    mine = services.referral.get(f"/api/v1/partners/{slug}/referrals", headers=partner).json()
    (referral,) = [r for r in mine if r["case_reference"] == reference]
    r = services.referral.post(
        f"/api/v1/referrals/{referral['id']}/status", json={"status": status}, headers=partner
    )
    assert r.status_code == 200, r.text


def referral_rows(database_url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = db.create_engine(database_url)
        try:
            async with engine.connect() as conn:
                query = sa.text("SELECT id, case_id, partner_slug, status FROM referral")
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def case_ids(database_url: str) -> set[uuid.UUID]:
    """The cases referral's referrals belong to."""
    return {uuid.UUID(str(row.case_id)) for row in referral_rows(database_url)}


def test_the_kept_case_keeps_every_referral_and_answer_of_both(
    loop: Loop,  # noqa: F811
    service_dbs: dict[str, str],
) -> None:
    r = loop.intake.post(
        "/api/v1/users", json={"name": "Ibu Rina", "role": "coordinator"}, headers=ADMIN_H
    )
    coordinator = {"Authorization": f"Bearer {r.json()['token']}"}
    kept = loop.new_case(victims=[VICTIM])
    dup = loop.new_case(victims=[{**VICTIM, "name": "  siti RAHMAWATI "}])
    assert [d["reference"] for d in dup["possible_duplicates"]] == [kept["reference"]]
    for case in (kept, dup):
        until(lambda c=case: len(loop.case(c["id"])["referrals"]) == 3)
    # before the merge: legal aid accepts the duplicate's referral
    answer(loop, "posbakum-aisyiyah", dup["reference"], "accepted")
    until(
        lambda: "accepted"
        in {r["status"] for r in loop.case(dup["id"])["referrals"] if r["service"] == "legal_aid"}
    )

    merged = loop.intake.post(
        f"/api/v1/cases/{dup['id']}/merge", json={"into": kept["reference"]}, headers=coordinator
    )
    assert merged.status_code == 200, merged.text
    # after it: counselling answers the duplicate's other referral, as it was given to it
    until(lambda: case_ids(service_dbs["referral"]) == {uuid.UUID(kept["id"])})
    answer(loop, "bikksa-mentari", dup["reference"], "accepted")

    def kept_referrals() -> list[tuple[str, str]]:
        return sorted((r["partner_slug"], r["status"]) for r in loop.case(kept["id"])["referrals"])

    expected = sorted(
        [
            ("bikksa-mentari", "accepted"),  # the duplicate's, answered after the merge
            ("bikksa-mentari", "requested"),
            ("polresta-ppa", "requested"),
            ("polresta-ppa", "requested"),
            ("posbakum-aisyiyah", "accepted"),  # the duplicate's, answered before
            ("posbakum-aisyiyah", "requested"),
        ]
    )
    until(lambda: kept_referrals() == expected)
    on_dup = loop.case(dup["id"])
    assert on_dup["status"] == "closed" and on_dup["outcome"] == "duplicate"
    assert on_dup["referrals"] == []  # they live on in the kept case
    steps = [s for r in loop.case(kept["id"])["referrals"] for s in r["steps"]]
    assert sum(s["status"] == "accepted" for s in steps) == 2
    for slug in ("posbakum-aisyiyah", "bikksa-mentari", "polresta-ppa"):
        sent = [envelope.decode(m.headers, m.data).data for m in loop.stream_messages(slug)]
        assert not any(isinstance(e, ReferralCancelled) for e in sent), slug
    rows = referral_rows(service_dbs["referral"])
    assert len(rows) == 6 and {row.status for row in rows} == {"requested", "accepted"}
