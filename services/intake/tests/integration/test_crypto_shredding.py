"""Crypto-shredding in intake (issue 16, item 4), on a real nats-server and database: personal
fields sealed at rest and on CASES, the key service, erasure by the data protection officer,
the retention job, and master key rotation."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto, db
from jejaring.shared.contract import envelope, personal
from jejaring.shared.contract.events import CaseCreated, CaseErased
from jejaring.shared.messaging.keys import KeyClient
from jejaring.shared.messaging.natsserver import NatsServer
from jejaring.testing import EXAMPLE_CASE, ShiftedClock, until

ADMIN = "admin-token-for-tests-0123456789"
NAME = "Zulaikha Purnamasari Wirawangsa"
PHONE = "081299887766"
STORY = "Dipukul dengan gagang sapu di dapur rumah Jalan Kenanga"
REPORTER = "Hendrawan Kusumobroto"
PROOF = "PKH-9931-77"
SECRETS = (NAME, PHONE, STORY, REPORTER, PROOF)
K1 = crypto.generate_line("k1")


def body() -> dict[str, Any]:
    case = copy.deepcopy(EXAMPLE_CASE)
    case["victims"][0].update(name=NAME, phone=PHONE, address="Gang Kenanga 7")
    case["description"] = STORY
    case["reporter"] = {"kind": "neighbour", "name": REPORTER, "phone": "081377766655"}
    case["legal_aid_proof"] = {"kind": "pkh", "number": PROOF}
    return case


@contextmanager
def intake(
    database_url: str,
    nats_url: str,
    tmp_path: Path,
    *,
    keys: str = K1,
    clock: ShiftedClock | None = None,
    **more: Any,
) -> Iterator[TestClient]:
    settings = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=keys,
        **more,
    )
    app = create_app(settings, clock=clock or ShiftedClock(dt.datetime.now(dt.UTC)))
    with TestClient(app, raise_server_exceptions=False) as client:
        until(lambda: client.get("/readyz").status_code == 200)
        yield client


def person(client: TestClient, role: str, name: str) -> dict[str, str]:
    user: dict[str, Any] = {"name": name, "role": role}
    if role == "officer":
        user["kelurahan_code"] = EXAMPLE_CASE["kelurahan_code"]
    r = client.post("/api/v1/users", json=user, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def record(client: TestClient, officer: dict[str, str]) -> dict[str, Any]:
    r = client.post("/api/v1/cases", json=body(), headers=officer)
    assert r.status_code == 201, r.text
    return dict(r.json())


def sql(database_url: str, query: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = db.create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def every_row_as_text(database_url: str) -> str:
    tables = ("case_record", "data_key", "outbox", "audit_record", "referral_view")
    return "\n".join(
        repr(row) for t in tables for row in sql(database_url, sa.text(f"SELECT * FROM {t}"))
    )


def files_bytes(*paths: Path) -> bytes:
    return b"".join(
        p.read_bytes() for root in paths for p in sorted(root.parent.glob(root.name)) if p.is_file()
    )


def database_files(database_url: str) -> bytes:
    """The bytes of a SQLite database's files (db, -wal, -shm); b"" for PostgreSQL, whose
    rows `every_row_as_text` reads."""
    if make_url(database_url).get_backend_name() != "sqlite":
        return b""
    file = Path(str(make_url(database_url).database))
    raw = files_bytes(file, file.with_name(file.name + "-*"))
    assert b"case_record" in raw  # the database's own files were read
    return raw


async def _cases(url: str, subject: str) -> list[Any]:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().pull_subscribe(subject, durable=None, stream="CASES")
        try:
            msgs = await sub.fetch(100, timeout=1)
        except TimeoutError:  # nats-py's, or asyncio's when an empty fetch's 408 comes late
            return []
        return [envelope.decode(m.headers, m.data).data for m in msgs]
    finally:
        await nc.close()


def on_cases(client: TestClient, url: str, subject: str) -> list[Any]:
    return client.portal.call(_cases, url, subject)  # type: ignore[union-attr]


async def _ask_key(url: str, case_id: uuid.UUID) -> bytes | None:
    nc = await nats.connect(url)
    try:
        return await KeyClient(nc).get(case_id)
    finally:
        await nc.close()


def ask_key(client: TestClient, url: str, case_id: str) -> bytes | None:
    return client.portal.call(_ask_key, url, uuid.UUID(case_id))  # type: ignore[union-attr]


def test_personal_fields_are_only_sealed_in_the_database_and_on_cases(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    url = nats_server.url
    with intake(database_url, url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        case = record(client, officer)
        created = until(lambda: on_cases(client, url, "case.v1.created"))
        shown = client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()
        key = ask_key(client, url, case["id"])  # over NATS, sealed to a one-time key
        rows = every_row_as_text(database_url)
        raw = database_files(database_url)  # while intake runs: its WAL is there too
    assert shown["victims"][0]["name"] == NAME
    assert shown["victims"][0]["phone"] == PHONE
    assert shown["description"] == STORY
    assert shown["reporter"]["name"] == REPORTER
    assert shown["legal_aid_proof"]["number"] == PROOF
    for secret in SECRETS:
        assert secret not in rows, secret
    assert all(s.encode() not in raw for s in SECRETS)
    stored = files_bytes(*(p for p in nats_server.store_dir.rglob("*") if "CASES" in str(p)))
    assert b"case.v1.created" in stored  # the stream's own files were read
    assert all(s.encode() not in stored for s in SECRETS)
    event = created[0]
    assert isinstance(event, CaseCreated) and event.sealed is not None
    assert event.victims[0].name is None and event.description is None
    assert key is not None
    opened = personal.reveal(event, key)
    assert (opened.victims[0].name, opened.victims[0].phone) == (NAME, PHONE)
    assert opened.description == STORY and opened.legal_aid_proof is not None
    assert opened.legal_aid_proof.number == PROOF


def test_the_data_protection_officer_erases_a_case_for_good(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        coordinator = person(client, "coordinator", "Ibu Rina")
        dpo = person(client, "dpo", "Pak Dimas")
        case = record(client, officer)
        created = until(lambda: on_cases(client, nats_url, "case.v1.created"))[0]
        erase = f"/api/v1/cases/{case['id']}/erase"
        reason = {"reason": "subject_request"}
        for who in (officer, coordinator):
            r = client.post(erase, json=reason, headers=who)
            assert r.status_code == 403, r.text
        missing = client.post(erase, json={}, headers=dpo)
        assert missing.status_code == 422
        assert "reason" in [e["field"] for e in missing.json()["detail"]], missing.text
        assert (
            client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()["victims"][0]["name"]
            == NAME
        )

        r = client.post(erase, json=reason, headers=dpo)
        assert r.status_code == 200, r.text
        assert (
            r.json()["erased_why"] == "erasure" and r.json()["erasure_reason"] == "subject_request"
        )
        again = client.post(erase, json=reason, headers=dpo)
        assert again.status_code == 409 and again.json()["detail"][0]["code"] == "case_erased"

        shown = client.get(f"/api/v1/cases/{case['id']}", headers=officer)
        assert shown.status_code == 200, shown.text
        after = shown.json()
        erased = until(lambda: on_cases(client, nats_url, "case.v1.erased"))
        key = ask_key(client, nats_url, case["id"])
        verdict = client.get("/api/v1/audit/verify", headers=dpo).json()
        trail = client.get(
            "/api/v1/audit", params={"case_reference": case["reference"]}, headers=dpo
        ).json()["items"]
        rows = every_row_as_text(database_url)
        keyring = sql(database_url, sa.text("SELECT case_id, key_id, wrapped FROM data_key"))
        change = client.patch(
            f"/api/v1/cases/{case['id']}", json={"risk_level": "low"}, headers=officer
        )
    assert after["erased_at"] is not None and after["erased_why"] == "erasure"
    assert after["victims"][0]["name"] is None and after["victims"][0]["phone"] is None
    assert after["description"] is None and "name" not in after["reporter"]
    assert after["legal_aid_proof"]["number"] is None
    # the plain facts stay, for statistics
    assert after["victims"][0]["is_child"] is True and after["victims"][0]["sex"] == "female"
    assert after["kelurahan"]["code"] == EXAMPLE_CASE["kelurahan_code"]
    assert after["risk_level"] == "high" and after["needs"] == case["needs"]
    # nobody can work on it any more: it is closed, as withdrawn, when it was erased
    assert (after["status"], after["outcome"]) == ("closed", "withdrawn")
    assert after["closed_at"] == after["erased_at"]
    assert all(s not in rows for s in SECRETS)
    assert keyring == []  # no key at all: the stream's seal opens with nothing
    assert key is None
    with pytest.raises(crypto.Unreadable):
        personal.reveal(created, crypto.new_data_key())
    assert [(e.case_id, e.why) for e in erased if isinstance(e, CaseErased)] == [
        (uuid.UUID(case["id"]), "erasure")
    ]
    assert [r["action"] for r in trail if r["action"] == "case.erase"] == ["case.erase"]
    assert next(r["role"] for r in trail if r["action"] == "case.erase") == "dpo"
    assert verdict["intact"] is True
    assert change.status_code == 409 and change.json()["detail"][0]["code"] == "case_erased"


def test_the_retention_job_erases_only_cases_closed_longer_ago_once(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    clock = ShiftedClock(dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC))
    close = {"outcome": "resolved", "note": "Dihubungi oleh Hendrawan Kusumobroto"}
    with intake(
        database_url,
        nats_url,
        tmp_path,
        clock=clock,
        anonymise_after_days=30,
        anonymise_interval_s=0.2,
    ) as client:
        officer = person(client, "officer", "Ibu Wulan")
        dpo = person(client, "dpo", "Pak Dimas")
        old = record(client, officer)
        r = client.post(f"/api/v1/cases/{old['id']}/close", json=close, headers=officer)
        assert r.status_code == 200 and r.json()["outcome_note"] == close["note"], r.text
        clock.set(dt.datetime(2026, 12, 21, 2, tzinfo=dt.UTC))  # 31 days later
        recent = record(client, officer)
        client.post(f"/api/v1/cases/{recent['id']}/close", json=close, headers=officer)
        still_open = record(client, officer)

        def shown(case: dict[str, Any]) -> dict[str, Any]:
            return dict(client.get(f"/api/v1/cases/{case['id']}", headers=officer).json())

        until(lambda: shown(old)["erased_at"])
        time.sleep(1.0)  # five more runs of the job: none may erase anything else, or twice
        answers = {n: shown(c) for n, c in (("old", old), ("recent", recent), ("open", still_open))}
        erased = until(lambda: on_cases(client, nats_url, "case.v1.erased"))
        records = client.get("/api/v1/audit", params={"per_page": 200}, headers=dpo).json()
    assert answers["old"]["erased_why"] == "retention"
    assert answers["old"]["victims"][0]["name"] is None and answers["old"]["outcome_note"] is None
    assert answers["old"]["outcome"] == "resolved"
    assert answers["recent"]["erased_at"] is None
    assert answers["recent"]["outcome_note"] == close["note"]
    assert answers["open"]["erased_at"] is None and answers["open"]["victims"][0]["name"] == NAME
    assert [(e.case_id, e.why) for e in erased] == [(uuid.UUID(old["id"]), "retention")]
    erasures = [r for r in records["items"] if r["action"] == "case.erase"]
    assert [(r["case_reference"], r["role"]) for r in erasures] == [(old["reference"], "system")]


def test_a_new_master_key_rewraps_every_data_key_and_the_old_one_can_go(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    k2 = crypto.generate_line("k2")
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        ids = [record(client, officer)["id"] for _ in range(3)]
    before = sql(database_url, sa.text("SELECT key_id FROM data_key"))
    with intake(database_url, nats_url, tmp_path, keys=f"{k2},{K1}"):
        pass  # the start re-wraps
    after = sql(database_url, sa.text("SELECT key_id FROM data_key"))
    with intake(database_url, nats_url, tmp_path, keys=k2) as client:
        names = [
            client.get(f"/api/v1/cases/{i}", headers=officer).json()["victims"][0]["name"]
            for i in ids
        ]
    assert [r.key_id for r in before] == ["k1"] * 3
    assert [r.key_id for r in after] == ["k2"] * 3
    assert names == [NAME] * 3


def test_cases_recorded_before_sealing_are_sealed_once_at_start(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """A database at intake_0008 holding a case in the clear: the first start seals it (a
    data key, the seal, the plain columns stripped); the next start changes nothing."""
    with intake(database_url, nats_url, tmp_path) as client:
        officer = person(client, "officer", "Ibu Wulan")
        case = record(client, officer)
    plain = body()["victims"][0]
    cleared = [
        {**plain, "age": 12, "age_group": "6-12", "is_child": True},
    ]

    async def back_to_clear() -> None:  # as intake_0008 kept it
        engine = db.create_engine(database_url)
        try:
            async with engine.begin() as conn:
                keys = sa.table("data_key", sa.column("case_id", sa.Uuid()))
                await conn.execute(keys.delete().where(keys.c.case_id == uuid.UUID(case["id"])))
                table = sa.table(
                    "case_record",
                    sa.column("id", sa.Uuid()),
                    sa.column("victims", sa.JSON()),
                    sa.column("description"),
                    sa.column("sealed"),
                )
                await conn.execute(
                    table.update()
                    .where(table.c.id == uuid.UUID(case["id"]))
                    .values(victims=cleared, description=STORY, sealed=None)
                )
        finally:
            await engine.dispose()

    asyncio.run(back_to_clear())
    assert NAME in every_row_as_text(database_url)
    with intake(database_url, nats_url, tmp_path) as client:
        shown = client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()
    sealed = sql(database_url, sa.text("SELECT sealed FROM case_record"))
    with intake(database_url, nats_url, tmp_path):
        pass
    assert sql(database_url, sa.text("SELECT sealed FROM case_record")) == sealed
    assert sealed[0][0] and crypto.is_sealed(sealed[0][0])
    assert len(sql(database_url, sa.text("SELECT case_id FROM data_key"))) == 1
    assert (shown["victims"][0]["name"], shown["description"]) == (NAME, STORY)
    assert NAME not in every_row_as_text(database_url)
    raw = database_files(database_url)
    assert NAME.encode() not in raw and STORY.encode() not in raw
