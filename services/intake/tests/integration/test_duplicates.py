"""Possible duplicates and merging in intake (issue 20, item 5), on a real nats-server and
database: the warning when a victim is recorded twice, the keyed index that holds no name, its
upkeep (close, erasure, start after a master key rotation) and who may merge what."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jejaring.shared import crypto, db
from jejaring.shared.contract.events import CaseMerged
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.testing import EXAMPLE_CASE, until

from .test_crypto_shredding import (
    K1,
    database_files,
    files_bytes,
    intake,
    on_cases,
    person,
    sql,
)

NAME = "Siti  Aminah Rahmawati"
SAME = "siti aminah  RAHMAWATI"  # the same victim, typed another way
BORN = "2013-02-17"


def victim_case(name: str, birth_date: str | None = BORN) -> dict[str, Any]:
    case = copy.deepcopy(EXAMPLE_CASE)
    case["victims"][0].update(name=name)
    if birth_date is None:
        del case["victims"][0]["birth_date"]
        case["victims"][0]["age"] = 13
    else:
        case["victims"][0]["birth_date"] = birth_date
    return case


def forget_the_index(database_url: str) -> None:
    """The database as it was before this change: no index, no link."""

    async def run() -> None:
        engine = db.create_engine(database_url)
        try:
            async with engine.begin() as conn:
                for table in ("victim_fingerprint", "duplicate_index", "case_link"):
                    await conn.execute(sa.text(f"DELETE FROM {table}"))
        finally:
            await engine.dispose()

    asyncio.run(run())


def record(client: TestClient, who: dict[str, str], case: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/cases", json=case, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def refs(found: list[dict[str, Any]]) -> list[str]:
    return [d["reference"] for d in found]


def test_a_second_case_for_the_same_victim_warns_and_links_the_two(
    database_url: str, nats_url: str, tmp_path: Any
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        coordinator = person(client, "coordinator", "Ibu Rina")
        first = record(client, officer, victim_case(NAME))
        second = record(client, officer, victim_case(SAME))
        other_birthday = record(client, officer, victim_case(SAME, "2013-02-18"))
        no_birthday = record(client, officer, victim_case(SAME, None))
        seen_first = client.get(f"/api/v1/cases/{first['id']}/duplicates", headers=officer)
        seen_second = client.get(f"/api/v1/cases/{second['id']}/duplicates", headers=coordinator)
        rows = sql(database_url, sa.text("SELECT * FROM victim_fingerprint"))
        raw = database_files(database_url)
    assert first["possible_duplicates"] == []
    assert second["possible_duplicates"] == [
        {"case_id": first["id"], "reference": first["reference"]}
    ]
    assert other_birthday["possible_duplicates"] == []  # another birth date: another child
    assert no_birthday["possible_duplicates"] == []  # no birth date: never matched
    assert second["victims"][0]["name"] == SAME  # recorded as typed, never refused
    assert seen_first.status_code == 200
    assert refs(seen_first.json()["possible_duplicates"]) == [second["reference"]]
    assert refs(seen_second.json()["possible_duplicates"]) == [first["reference"]]
    # three victims with a birth date, two of them one child: keyed hashes, never a name or date
    assert len(rows) == 3 and all(len(r.fingerprint) == 64 for r in rows)
    assert len({r.fingerprint for r in rows}) == 2
    for text in ("Aminah", "aminah", "AMINAH", "siti aminah", BORN):
        assert text.encode() not in raw, text


def test_merge_only_by_the_coordinator_never_into_itself_and_once(
    database_url: str, nats_server: NatsServer, tmp_path: Any
) -> None:
    url = nats_server.url
    with intake(database_url, url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        coordinator = person(client, "coordinator", "Ibu Rina")
        kept = record(client, officer, victim_case(NAME))
        dup = record(client, officer, victim_case(SAME))
        other = record(client, officer, victim_case("Dewi Lestari"))
        merge = f"/api/v1/cases/{dup['id']}/merge"
        by_officer = client.post(merge, json={"into": kept["id"]}, headers=officer)
        into_itself = client.post(merge, json={"into": dup["reference"]}, headers=coordinator)
        unknown = client.post(merge, json={"into": "BPT-1999-000001"}, headers=coordinator)
        empty = client.post(merge, json={"into": " "}, headers=coordinator)
        ok = client.post(merge, json={"into": kept["reference"].lower()}, headers=coordinator)
        again = client.post(merge, json={"into": kept["id"]}, headers=coordinator)
        into_merged = client.post(
            f"/api/v1/cases/{other['id']}/merge", json={"into": dup["id"]}, headers=coordinator
        )
        merged_case = client.get(f"/api/v1/cases/{dup['id']}", headers=officer).json()
        related_dup = client.get(f"/api/v1/cases/{dup['id']}/duplicates", headers=officer).json()
        related_kept = client.get(f"/api/v1/cases/{kept['id']}/duplicates", headers=officer)
        events = until(lambda: on_cases(client, url, "case.v1.merged"))
        closed = on_cases(client, url, "case.v1.closed")
        audit = sql(
            database_url,
            sa.text("SELECT action, case_reference FROM audit_record WHERE action='case.merge'"),
        )
    assert by_officer.status_code == 403
    assert into_itself.status_code == 422
    assert into_itself.json()["detail"][0]["field"] == "into"
    assert into_itself.json()["detail"][0]["code"] == "merge_into_itself"
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["field"] == "into"
    assert empty.status_code == 422 and "into" in empty.text
    assert ok.status_code == 200, ok.text
    assert ok.json()["into"] == {"case_id": kept["id"], "reference": kept["reference"]}
    assert again.status_code == 409 and again.json()["detail"][0]["code"] == "case_closed"
    assert into_merged.status_code == 409
    assert into_merged.json()["detail"][0]["code"] == "into_closed"
    assert merged_case["status"] == "closed" and merged_case["outcome"] == "duplicate"
    assert related_dup["merged_into"]["reference"] == kept["reference"]
    assert related_dup["possible_duplicates"] == []
    assert refs(related_kept.json()["merged_from"]) == [dup["reference"]]
    assert related_kept.json()["possible_duplicates"] == []  # the duplicate is no longer open
    event = events[0]
    assert isinstance(event, CaseMerged)
    assert (str(event.case_id), str(event.into_case_id)) == (dup["id"], kept["id"])
    assert closed == []  # a merge is not a close: referral must not cancel anything
    assert [tuple(r) for r in audit] == [("case.merge", dup["reference"])]


def test_closing_or_erasing_takes_a_case_out_of_the_index(
    database_url: str, nats_url: str, tmp_path: Any
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        dpo = person(client, "dpo", "Pak Dimas")
        closed = record(client, officer, victim_case(NAME))
        r = client.post(
            f"/api/v1/cases/{closed['id']}/close", json={"outcome": "resolved"}, headers=officer
        )
        assert r.status_code == 200, r.text
        after_close = record(client, officer, victim_case(SAME))
        r = client.post(
            f"/api/v1/cases/{after_close['id']}/erase",
            json={"reason": "subject_request"},
            headers=dpo,
        )
        assert r.status_code == 200, r.text
        after_erasure = record(client, officer, victim_case(NAME))
        indexed = sql(database_url, sa.text("SELECT case_id FROM duplicate_index"))
    assert after_close["possible_duplicates"] == []  # only open cases match
    assert after_erasure["possible_duplicates"] == []
    assert [uuid.UUID(str(r.case_id)) for r in indexed] == [uuid.UUID(after_erasure["id"])]


def test_cases_recorded_before_the_index_are_indexed_at_start_and_again_after_a_rotation(
    database_url: str, nats_url: str, tmp_path: Any
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        first = record(client, officer, victim_case(NAME))
    forget_the_index(database_url)
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Ani")
        second = record(client, officer, victim_case(SAME))
    before = {r.fingerprint for r in sql(database_url, sa.text("SELECT * FROM victim_fingerprint"))}
    k2 = crypto.generate_line("k2")
    with intake(database_url, nats_url, tmp_path, keys=f"{k2},{K1}") as client:
        officer = person(client, "officer", "Ibu Sari")
        third = record(client, officer, victim_case(NAME))
    rotated = sql(database_url, sa.text("SELECT key_id FROM duplicate_index"))
    after = {r.fingerprint for r in sql(database_url, sa.text("SELECT * FROM victim_fingerprint"))}
    assert refs(second["possible_duplicates"]) == [first["reference"]]
    assert refs(third["possible_duplicates"]) == [first["reference"], second["reference"]]
    assert {r.key_id for r in rotated} == {"k2"}  # every case indexed again with the new key
    assert len(before) == 1 and len(after) == 1 and before != after


def test_nothing_of_the_index_on_the_stream(
    database_url: str, nats_server: NatsServer, tmp_path: Any
) -> None:
    with intake(database_url, nats_server.url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        record(client, officer, victim_case(NAME))
        second = record(client, officer, victim_case(SAME))
        until(lambda: len(on_cases(client, nats_server.url, "case.v1.created")) == 2)
        fingerprints = [
            r.fingerprint for r in sql(database_url, sa.text("SELECT * FROM victim_fingerprint"))
        ]
    stored = files_bytes(*(p for p in nats_server.store_dir.rglob("*") if "CASES" in str(p)))
    assert b"case.v1.created" in stored
    assert second["possible_duplicates"]
    assert all(f.encode() not in stored for f in fingerprints)
