"""Sample events for tests and examples: full of names and offence words on purpose, so that
privacy tests can check none of them leak where they must not."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
from sqlalchemy import Column, Executable, Integer, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.shared import db
from jejaring.shared.contract import envelope
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import (
    AgeGroup,
    BusinessStatus,
    CaseOutcome,
    ConsentGiver,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    Priority,
    ProofOfInability,
    ReferralStatus,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.shared.contract.envelope import OutgoingMessage
from jejaring.shared.migrate import migrate
from jejaring.shared.web.identity import IDENTITY_KEY_ENV, IDENTITY_PUBLIC_KEY_ENV, public_key_of

# A table for plumbing tests: a handler's one visible effect is +1 on a counter.
effects_metadata = MetaData()
effects = Table(
    "effects",
    effects_metadata,
    Column("key", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
)

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
VICTIM_NAME = "Siti Rahmawati"
CHILD_NAME = "Putri Ayu Lestari"

# The example case of intake's API tests and of the web app's (the body of POST /api/v1/cases):
# a child hit at home by her father, high risk, with a guardian's consent and a PKH card.
EXAMPLE_CASE: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "incident_date": "2026-11-19",
    "place": "household",
    "violence_forms": ["physical", "psychological"],
    "description": "Korban dipukul di rumah.",
    "risk_level": "high",
    "reporter": {"kind": "neighbour"},
    "victims": [
        {
            "name": CHILD_NAME,
            "sex": "female",
            "birth_date": "2014-05-01",
            "phone": "081234567890",
            "safe_to_contact": False,
        }
    ],
    "perpetrator": {"relationship": "parent", "sex": "male", "is_child": False},
    "needs": ["protection", "legal_aid", "counselling"],
    "consent": {"given_by": "guardian", "scope": ["police", "tni", "legal_aid", "counselling"]},
    "legal_aid_proof": {"kind": "pkh", "number": "PKH-3374-01"},
}

# A case posted to intake (POST /api/v1/cases) that the seeded partners refer three ways: the
# load of the fault tests and of `make bench`.
THREE_WAY_CASE: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "place": "household",
    "violence_forms": ["physical"],
    "risk_level": "medium",
    "reporter": {"kind": "neighbour"},
    "victims": [{"name": VICTIM_NAME, "sex": "female", "age": 34}],
    "perpetrator": {"relationship": "spouse", "sex": "male"},
    "needs": ["law_enforcement", "legal_aid", "counselling"],
    "consent": {"given_by": "victim", "scope": ["police", "legal_aid", "counselling"]},
    "legal_aid_proof": {"kind": "sktm", "number": "SKTM/9"},
}
THREE_WAY_REFERRALS = {
    ("law_enforcement", "polresta-ppa"),
    ("legal_aid", "posbakum-aisyiyah"),
    ("counselling", "bikksa-mentari"),
}


def case_snapshot_fields(case_id: uuid.UUID | None = None, version: int = 1) -> dict[str, object]:
    """The fields of a realistic high-risk case (a child, domestic violence)."""
    return {
        "case_id": case_id or uuid.uuid4(),
        "reference": "BPT-2026-000123",
        "version": version,
        "kelurahan_code": "64.71.04.1003",
        "reported_at": T0,
        "incident_date": dt.date(2026, 11, 19),
        "place": Place.HOUSEHOLD,
        "violence_forms": (ViolenceForm.PHYSICAL, ViolenceForm.PSYCHOLOGICAL),
        "description": f"{CHILD_NAME} dipukul oleh ayahnya (kekerasan fisik).",
        "risk_level": RiskLevel.HIGH,
        "victims": (
            ev.Victim(
                name=CHILD_NAME,
                sex=Sex.FEMALE,
                age_group=AgeGroup.A6_12,
                is_child=True,
                birth_date=dt.date(2014, 5, 1),
                phone="081234567890",
                safe_to_contact=False,
                address="Jl. Mayjen Sutoyo RT 12",
            ),
        ),
        "perpetrator": ev.Perpetrator(
            relationship=PerpetratorRelationship.PARENT, sex=Sex.MALE, is_child=False
        ),
        "needs": (Service.PROTECTION, Service.LEGAL_AID, Service.COUNSELLING),
        "consent": ev.Consent(
            given_by=ConsentGiver.GUARDIAN,
            scope=(
                PartnerKind.POLICE,
                PartnerKind.TNI,
                PartnerKind.LEGAL_AID,
                PartnerKind.COUNSELLING,
            ),
            recorded_at=T0,
            recorded_by="officer-1",
        ),
        "legal_aid_proof": ev.LegalAidProof(kind=ProofOfInability.PKH, number="PKH-001"),
        "officer": ev.Contact(name="Ibu Wulan", phone="081300000001", email="wulan@example.org"),
    }


def sample_events() -> list[ev.Event]:
    """One instance of every event type of the contract."""
    case_id = uuid.uuid4()
    referral_id = uuid.uuid4()
    fact = {
        "referral_id": referral_id,
        "case_id": case_id,
        "case_reference": "BPT-2026-000123",
        "partner_slug": "posbakum-aisyiyah",
        "service": Service.LEGAL_AID,
        "kelurahan_code": "64.71.04.1003",
        "risk_level": RiskLevel.HIGH,
        "priority": Priority.URGENT,
        "status": ReferralStatus.REQUESTED,
        "accept_by": T0 + dt.timedelta(hours=1),
        "sequence": 1,
        "occurred_at": T0,
    }
    view = ev.PartnerCaseView(
        kelurahan_code="64.71.04.1003",
        kelurahan_name="Karang Rejo",
        risk_level=RiskLevel.HIGH,
        legal_aid_proof=ev.LegalAidProof(kind=ProofOfInability.SKTM, number="SKTM/12/2026"),
        victims=(ev.PartnerVictimView(sex=Sex.FEMALE, age_group=AgeGroup.A6_12, is_child=True),),
    )
    return [
        ev.CaseCreated(**case_snapshot_fields(case_id)),
        ev.CaseUpdated(**case_snapshot_fields(case_id, 2), changed=("risk_level",)),
        ev.CaseClosed(
            case_id=case_id,
            reference="BPT-2026-000123",
            version=3,
            outcome=CaseOutcome.RESOLVED,
            closed_at=T0 + dt.timedelta(days=30),
        ),
        ev.CaseErased(
            case_id=case_id,
            reference="BPT-2026-000123",
            erased_at=T0 + dt.timedelta(days=31),
            why="erasure",
        ),
        ev.CaseMerged(
            case_id=uuid.UUID("0b9b0b8e-1d0a-4c1e-9f65-2b5f0c1d2e3f"),
            reference="BPT-2026-000124",
            into_case_id=case_id,
            into_reference="BPT-2026-000123",
            merged_at=T0 + dt.timedelta(days=2),
        ),
        ev.PartnerDeactivated(
            partner_slug="bikksa-mentari", deactivated_at=T0 + dt.timedelta(days=40)
        ),
        ev.CaseTaskDue(
            case_id=case_id,
            reference="BPT-2026-000123",
            kelurahan_code="64.71.03.1001",
            task_id=uuid.UUID("5e0f7a52-8f0c-4f3e-8d7a-1b2c3d4e5f60"),
            due_on=(T0 + dt.timedelta(days=7)).date(),
            officer=ev.Contact(name="Petugas", phone="+6281200000001"),
        ),
        ev.CaseFeedbackRequested(
            case_id=case_id,
            reference="BPT-2026-000123",
            kelurahan_code="64.71.03.1001",
            closed_at=T0 + dt.timedelta(days=30),
            phone_sealed="s1.sample",
            partner_slugs=("posbakum-aisyiyah",),
        ),
        ev.ReferralRequested(
            referral_id=referral_id,
            partner_slug="posbakum-aisyiyah",
            case_reference="BPT-2026-000123",
            service=Service.LEGAL_AID,
            priority=Priority.URGENT,
            accept_by=T0 + dt.timedelta(hours=1),
            business_status=(BusinessStatus.ELIGIBILITY_PENDING,),
            requested_at=T0,
            case=view,
        ),
        ev.ReferralCancelled(
            referral_id=referral_id,
            partner_slug="posbakum-aisyiyah",
            case_reference="BPT-2026-000123",
            reason="case closed",
            cancelled_at=T0,
        ),
        ev.ReferralUpdated(
            referral_id=referral_id,
            partner_slug="posbakum-aisyiyah",
            case_reference="BPT-2026-000123",
            priority=Priority.ROUTINE,
            updated_at=T0,
            case=view,
            changed=("risk_level",),
        ),
        ev.PartnerReplied(
            referral_id=referral_id,
            partner_slug="posbakum-aisyiyah",
            status=ReferralStatus.ACCEPTED,
            replied_at=T0,
            by="Paralegal Aisyiyah",
        ),
        ev.ReferralStatusChanged(**fact),
        ev.ReferralOverdue(**fact),
        ev.ReferralEscalated(**fact, offered_to=("lbh-balikpapan",)),
        ev.ReferralNeedUnmet(
            case_id=case_id,
            case_reference="BPT-2026-000123",
            kelurahan_code="64.71.04.1003",
            service=Service.SHELTER,
            reason="no active partner offers shelter in this kelurahan",
            occurred_at=T0,
        ),
    ]


# --- time -----------------------------------------------------------------------------


# How far a test process's clock may be from the machine's: scripts/at-wita moves Python
# processes (and OpenSSL in them) up to a year ahead, while nats-server and Caddy, Go programs,
# keep the machine's clock. Certificates both sides check are made valid from this long ago.
CLOCKS_APART = dt.timedelta(days=400)


class ShiftedClock:
    """Real time, shifted: a test jumps to a moment (an hour of the night, New Year's Eve in
    WITA) and time goes on from there. Passed as the `clock` of a service's app factory."""

    def __init__(self, start: dt.datetime) -> None:
        self.set(start)

    def set(self, when: dt.datetime) -> None:
        self.offset = when - dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


# --- HTTP probes -----------------------------------------------------------------------


def identity_env(service: str, secret: str) -> dict[str, str]:
    """What a service process is given for people's tokens, as in a deployment: intake the
    signing secret, every other service only its public key."""
    if service == "intake":
        return {IDENTITY_KEY_ENV: secret}
    return {IDENTITY_PUBLIC_KEY_ENV: public_key_of(secret)}


def readyz(port: int) -> tuple[int | None, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None, {}


def wait_status(port: int, status: int, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        code, body = readyz(port)
        if code == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"/readyz on {port} did not answer {status} within {timeout} s: {body}")


def start_refused(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m jejaring.<service>` with `env` (and PATH), for a service expected to refuse
    to start: it runs until it exits on its own; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", f"jejaring.{service}"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def service_process(service: str, env: dict[str, str]) -> Iterator[str]:
    """`python -m jejaring.<service>` with `env` (which sets <SERVICE>_PORT), until ready; its
    address. Stopped (SIGTERM) on leaving."""
    port = int(env[f"{service.upper()}_PORT"])
    proc = subprocess.Popen(
        [sys.executable, "-m", f"jejaring.{service}"],
        env={"PATH": os.environ["PATH"], **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while readyz(port)[0] != 200:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, f"{service} did not become ready"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def until(predicate: Any, timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; return that, or fail after `timeout`."""
    if value := within(predicate, timeout, every):
        return value
    raise AssertionError(f"condition not met within {timeout} s")


def within(predicate: Any, seconds: float, every: float = 0.05) -> Any:
    """Poll `predicate` for up to `seconds`: its first truthy value, else its last (falsy) one.
    For what may rightly never happen ("no feedback request"): the wait ends as soon as it
    does, and a stalled machine gets the whole window before "none" is believed."""
    deadline = time.monotonic() + seconds
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(every)
    return value


async def until_async(predicate: Any, timeout: float = 20.0, every: float = 0.05) -> Any:  # noqa: ASYNC109
    """`until` for a coroutine function, from a test's event loop (`timeout` is the polling's
    budget, as `until`'s: each call of `predicate` runs to its end)."""
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)
    return value


def publish(nats_url: str, event: ev.Event, *, msg_id: str | None = None) -> OutgoingMessage:
    """Publish `event` to JetStream as referral would (from a test's synchronous code), with
    `msg_id` as its Nats-Msg-Id if given (the same id twice: a redelivery JetStream dedupes)."""
    message = envelope.encode(event, source="/jejaring/referral")

    async def send() -> None:
        nc = await nats.connect(nats_url)
        headers = {**message.headers, "Nats-Msg-Id": msg_id or message.msg_id}
        await nc.jetstream().publish(message.subject, message.body, headers=headers)
        await nc.close()

    asyncio.run(send())
    return message


# --- databases ---------------------------------------------------------------------------


def run_sql(database_url: str, statement: str | Executable, **params: Any) -> list[Any]:
    """Run SQL on a service's database, as someone with write access to it could; its rows."""
    from jejaring.shared import db

    async def run() -> list[Any]:
        engine = db.create_engine(database_url)
        try:
            async with engine.begin() as conn:
                query = text(statement) if isinstance(statement, str) else statement
                result = await conn.execute(query, params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextlib.asynccontextmanager
async def migrated(
    database_url: str, migrations: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `database_url`, migrated to a service's heads (`migrations`: its versions
    folder); the engine is disposed of afterwards."""
    engine = db.create_engine(database_url)
    await migrate(engine, migrations, lock_name="test")
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()
