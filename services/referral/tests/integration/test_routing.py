"""Routing, the rules referral owns, replies, deadlines and the reconciler — on the database,
with the events each step stages in the outbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jejaring.referral import cases, deadlines, partners, repair, replies, routing
from jejaring.referral.app import MIGRATIONS
from jejaring.referral.errors import ReasonRequired, ReferralNotHeld
from jejaring.referral.facts import Deps
from jejaring.referral.handlers import reply_handler
from jejaring.referral.models import Referral, RequestForget, UnmetNeed
from jejaring.referral.partners import read_partner_file
from jejaring.referral.schemas import PartnerIn
from jejaring.referral.settings import DEFAULT_PARTNERS_FILE
from jejaring.shared import db
from jejaring.shared.contract import envelope
from jejaring.shared.contract import events as ev
from jejaring.shared.contract.enums import PartnerKind, ReferralStatus, RiskLevel, Service
from jejaring.shared.messaging.outbox import Outbox
from jejaring.shared.messaging.tables import outbox
from jejaring.shared.migrate import migrate
from jejaring.shared.refusals import Refusal
from jejaring.shared.region import load_region
from jejaring.shared.web.errors import status_of
from jejaring.testing import CHILD_NAME, case_snapshot_fields

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
ALL_KINDS = tuple(PartnerKind)


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    deps: Deps

    async def run(self, fn, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        async with self.sessions() as session, session.begin():
            return await fn(session, deps=self.deps, **kwargs)

    async def referrals(self, case_id: uuid.UUID | None = None) -> list[Referral]:
        async with self.sessions() as session:
            query = select(Referral).order_by(Referral.service, Referral.partner_slug)
            if case_id is not None:
                query = query.where(Referral.case_id == case_id)
            return list((await session.scalars(query)).all())

    async def events(self) -> list[tuple[str, ev.Event]]:
        """Every staged event, decoded: (subject, payload)."""
        async with self.sessions() as session:
            rows = (await session.execute(select(outbox).order_by(outbox.c.id))).all()
        return [(r.subject, envelope.decode(r.headers, r.body).data) for r in rows]

    async def subjects(self) -> list[str]:
        return [s for s, _ in await self.events()]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    engine = db.create_engine(database_url)
    await migrate(engine, MIGRATIONS, lock_name="test")
    sessions = db.session_factory(engine)
    async with sessions() as session, session.begin():
        await partners.seed_partners(session, partners=read_partner_file(DEFAULT_PARTNERS_FILE))
    yield World(sessions, Deps(outbox=Outbox(source="/jejaring/referral"), region=load_region()))
    await engine.dispose()


def case(**changes: Any) -> ev.CaseCreated:
    fields = case_snapshot_fields()
    fields.update(
        risk_level=RiskLevel.MEDIUM,
        consent=fields["consent"].model_copy(update={"scope": ALL_KINDS}),
    )  # type: ignore[union-attr]
    fields.update(changes)
    return ev.CaseCreated(**fields)  # type: ignore[arg-type]


def routed(referrals: list[Referral]) -> list[tuple[str, str]]:
    return [(r.service, r.partner_slug) for r in referrals]


async def test_each_need_goes_to_the_partner_offering_it(world: World) -> None:
    c = case(needs=(Service.LAW_ENFORCEMENT, Service.LEGAL_AID, Service.COUNSELLING))
    await world.run(cases.record_case, case=c, now=NOW)
    refs = await world.referrals()
    assert routed(refs) == [
        ("counselling", "bikksa-mentari"),
        ("law_enforcement", "polresta-ppa"),
        ("legal_aid", "posbakum-aisyiyah"),
    ]
    assert {r.id for r in refs} == {
        routing.referral_id(c.case_id, Service(r.service), r.partner_slug) for r in refs
    }
    assert all(r.status == "requested" and r.priority == "routine" for r in refs)
    assert all(r.accept_by == NOW + dt.timedelta(hours=6) for r in refs), "R4: medium risk, 6 h"
    subjects = await world.subjects()
    assert sorted(s for s in subjects if ".to." in s) == [
        "referral.v1.to.bikksa-mentari.requested",
        "referral.v1.to.polresta-ppa.requested",
        "referral.v1.to.posbakum-aisyiyah.requested",
    ]
    assert subjects.count("referral.v1.event.requested") == 3


async def test_a_replayed_or_older_case_event_creates_nothing(world: World) -> None:
    c = case(needs=(Service.LEGAL_AID,))
    await world.run(cases.record_case, case=c, now=NOW)
    await world.run(cases.record_case, case=c, now=NOW)  # replay (a new message id)
    newer = ev.CaseUpdated(**{**c.model_dump(), "version": 3, "risk_level": RiskLevel.LOW})
    await world.run(cases.record_case, case=newer, now=NOW)
    older = ev.CaseUpdated(**{**c.model_dump(), "version": 2, "needs": (Service.SHELTER,)})
    await world.run(cases.record_case, case=older, now=NOW)
    assert routed(await world.referrals()) == [("legal_aid", "posbakum-aisyiyah")]
    assert [s for s in await world.subjects() if "unmet" in s] == [], (
        "the older version was ignored"
    )


async def test_r3_high_risk_alerts_police_protection_and_babinsa_at_once(world: World) -> None:
    c = case(risk_level=RiskLevel.HIGH, needs=(Service.COUNSELLING,))
    await world.run(cases.record_case, case=c, now=NOW)
    refs = await world.referrals()
    assert routed(refs) == [
        ("counselling", "bikksa-mentari"),
        ("protection", "polresta-ppa"),
        ("security_escort", "babinsa-bpp-tengah"),
    ]
    assert {r.priority for r in refs} == {"urgent"}
    assert all(r.accept_by == NOW + dt.timedelta(hours=1) for r in refs)


async def test_r2_legal_aid_without_proof_is_eligibility_pending_until_proof_arrives(
    world: World,
) -> None:
    c = case(needs=(Service.LEGAL_AID,), legal_aid_proof=None)
    await world.run(cases.record_case, case=c, now=NOW)
    (r,) = await world.referrals()
    assert r.business_status == ["eligibility-pending"]
    requested = next(e for s, e in await world.events() if s.endswith(".requested") and ".to." in s)
    assert requested.business_status == ("eligibility-pending",)  # type: ignore[attr-defined]

    proof = ev.LegalAidProof(kind="sktm", number="SKTM/1")  # type: ignore[arg-type]
    updated = ev.CaseUpdated(
        **{**c.model_dump(), "version": 2, "legal_aid_proof": proof}, changed=("legal_aid_proof",)
    )
    await world.run(cases.record_case, case=updated, now=NOW)
    (r,) = await world.referrals()
    assert r.business_status == []
    update = next(
        e for s, e in await world.events() if s == "referral.v1.to.posbakum-aisyiyah.updated"
    )
    assert update.changed == ("legal_aid_proof",)  # type: ignore[attr-defined]
    assert update.case.legal_aid_proof.kind == "sktm"  # type: ignore[attr-defined]


async def test_consent_scope_is_honoured_and_unmet_needs_are_reported(world: World) -> None:
    c = case(
        risk_level=RiskLevel.HIGH,
        needs=(Service.LEGAL_AID, Service.SHELTER),
        consent=case().consent.model_copy(
            update={"scope": (PartnerKind.POLICE, PartnerKind.LEGAL_AID)}
        ),
    )
    await world.run(cases.record_case, case=c, now=NOW)
    assert routed(await world.referrals()) == [
        ("legal_aid", "posbakum-aisyiyah"),
        ("protection", "polresta-ppa"),
    ]
    unmet = {
        (e.service.value, e.reason)
        for s, e in await world.events()
        if s == "referral.v1.event.unmet"
    }  # type: ignore[attr-defined]
    assert unmet == {
        ("security_escort", "consent does not cover tni"),
        ("shelter", "no active partner offers shelter in kelurahan 64.71.04.1003"),
    }
    async with world.sessions() as session:
        assert len((await session.scalars(select(UnmetNeed))).all()) == 2


async def test_r6_each_partner_kind_gets_only_its_own_fields(world: World) -> None:
    c = case(
        risk_level=RiskLevel.HIGH,
        needs=(Service.LAW_ENFORCEMENT, Service.LEGAL_AID, Service.COUNSELLING),
    )
    await world.run(cases.record_case, case=c, now=NOW)
    views = {
        e.partner_slug: e.case  # type: ignore[attr-defined]
        for s, e in await world.events()
        if isinstance(e, ev.ReferralRequested)
    }
    police, babinsa = views["polresta-ppa"], views["babinsa-bpp-tengah"]
    legal, bikksa = views["posbakum-aisyiyah"], views["bikksa-mentari"]
    assert police.victims[0].name == CHILD_NAME
    assert police.description is not None
    assert police.victims[0].phone is None, "not safe to contact: no phone, even for the police"
    assert babinsa.victims is None and babinsa.description is None and babinsa.place is None
    assert babinsa.officer is not None and babinsa.risk_level == RiskLevel.HIGH
    assert babinsa.kelurahan_name == "Karang Rejo"
    assert bikksa.description is None, "no incident narrative for counselling"
    assert bikksa.victims[0].name == CHILD_NAME
    assert legal.legal_aid_proof is not None and legal.description is None
    for slug, view in views.items():
        text = view.model_dump_json()
        if slug != "polresta-ppa":
            assert "dipukul" not in text, slug


async def test_closing_a_case_cancels_its_open_referrals_and_tells_the_partners(
    world: World,
) -> None:
    c = case(needs=(Service.LEGAL_AID, Service.COUNSELLING))
    await world.run(cases.record_case, case=c, now=NOW)
    closed = ev.CaseClosed(
        case_id=c.case_id, reference=c.reference, version=2, outcome="withdrawn", closed_at=NOW
    )  # type: ignore[arg-type]
    await world.run(cases.close_case, closed=closed, now=NOW)
    await world.run(cases.close_case, closed=closed, now=NOW)
    refs = await world.referrals()
    assert {(r.status, r.reason) for r in refs} == {("cancelled", "case closed: withdrawn")}
    # the partners may not have fetched the requests: each cancellation waits to be sent only
    # if its partner has (retention.forget_unfetched, tested on a real server)
    subjects = await world.subjects()
    assert not [s for s in subjects if s.endswith(".cancelled") and ".to." in s]
    async with world.sessions() as session:
        staged = (await session.scalars(select(RequestForget.subject))).all()
    assert sorted(staged) == [
        "referral.v1.to.bikksa-mentari.cancelled",
        "referral.v1.to.posbakum-aisyiyah.cancelled",
    ]
    late = ev.CaseUpdated(**{**c.model_dump(), "version": 3, "needs": (Service.HEALTH,)})
    assert await world.run(cases.record_case, case=late, now=NOW) == []


async def test_withdrawn_consent_cancels_that_partners_referral(world: World) -> None:
    c = case(needs=(Service.LEGAL_AID, Service.COUNSELLING))
    await world.run(cases.record_case, case=c, now=NOW)
    narrower = c.consent.model_copy(update={"scope": (PartnerKind.LEGAL_AID,)})
    await world.run(
        cases.record_case,
        case=ev.CaseUpdated(**{**c.model_dump(), "version": 2, "consent": narrower}),
        now=NOW,
    )
    assert {(r.partner_slug, r.status) for r in await world.referrals()} == {
        ("posbakum-aisyiyah", "requested"),
        ("bikksa-mentari", "cancelled"),
    }


async def test_the_fhir_state_machine(world: World, caplog: pytest.LogCaptureFixture) -> None:
    c = case(needs=(Service.LEGAL_AID,))
    await world.run(cases.record_case, case=c, now=NOW)
    (r,) = await world.referrals()
    slug = "posbakum-aisyiyah"

    async def reply(status: str, *, who: str = slug, reason: str | None = None) -> Referral:
        return await world.run(
            replies.apply_reply,
            referral=r.id,
            slug=who,
            status=ReferralStatus(status),
            reason=reason,
            now=NOW,
        )

    with pytest.raises(Refusal) as illegal:
        await reply("completed")
    assert status_of(illegal.value) == 409
    assert "Allowed: accepted, rejected" in illegal.value.errors[0].message_en
    with caplog.at_level(logging.WARNING), pytest.raises(Refusal) as foreign:
        await reply("accepted", who="polresta-ppa")
    assert status_of(foreign.value) == 404
    assert any(getattr(rec, "security", False) for rec in caplog.records), (
        "logged as a security event"
    )

    assert (await reply("accepted")).status == "accepted"
    assert (await reply("accepted")).sequence == 2, "the same answer twice is a no-op"
    assert (await reply("in-progress")).status == "in-progress"
    with pytest.raises(Refusal) as no_reason:
        await reply("failed")
    assert no_reason.value.errors[0].field == "reason"
    assert (await reply("failed", reason="victim moved away")).status == "failed"
    with pytest.raises(Refusal) as final:
        await reply("completed")
    assert "none (final status)" in final.value.errors[0].message_en
    statuses = [
        e.status.value for s, e in await world.events() if isinstance(e, ev.ReferralStatusChanged)
    ]
    assert statuses == ["requested", "accepted", "in-progress", "failed"]


async def test_an_overdue_referral_is_escalated_and_offered_to_another_partner(
    world: World,
) -> None:
    second = PartnerIn(
        slug="lbh-balikpapan", name="LBH Balikpapan", kind="legal_aid", services=["legal_aid"]
    )  # type: ignore[arg-type]
    joined = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # after the seeded partners
    await world.run(
        lambda s, deps: partners.add_partner(s, data=second, region=deps.region, now=joined)
    )
    c = case(needs=(Service.LEGAL_AID, Service.COUNSELLING))
    await world.run(cases.record_case, case=c, now=NOW)
    accepted = next(r for r in await world.referrals() if r.service == "counselling")
    await world.run(
        replies.apply_reply,
        referral=accepted.id,
        slug="bikksa-mentari",
        status=ReferralStatus.ACCEPTED,
        now=NOW,
    )

    assert (
        await world.run(deadlines.check_deadlines, now=NOW + dt.timedelta(hours=5, minutes=59)) == 0
    )
    assert await world.run(deadlines.check_deadlines, now=NOW + dt.timedelta(hours=6)) == 1
    assert await world.run(deadlines.check_deadlines, now=NOW + dt.timedelta(hours=7)) == 0, "once"
    refs = {r.partner_slug: r for r in await world.referrals()}
    late = refs["posbakum-aisyiyah"]
    assert late.business_status == ["overdue", "escalated"]
    assert late.status == "requested", "still answerable"
    assert refs["lbh-balikpapan"].escalated_from == late.id
    events = await world.events()
    overdue = [e for s, e in events if s == "referral.v1.event.overdue"]
    escalated = [e for s, e in events if s == "referral.v1.event.escalated"]
    assert [e.partner_slug for e in overdue] == ["posbakum-aisyiyah"]  # type: ignore[attr-defined]
    assert [e.offered_to for e in escalated] == [("lbh-balikpapan",)]  # type: ignore[attr-defined]
    assert "referral.v1.to.lbh-balikpapan.requested" in [s for s, _ in events]


async def test_deadlines_survive_a_restart_because_they_live_in_the_database(
    world: World, database_url: str
) -> None:
    c = case(needs=(Service.COUNSELLING,), risk_level=RiskLevel.LOW)
    await world.run(cases.record_case, case=c, now=NOW)
    engine = db.create_engine(database_url)  # a new process would start exactly like this
    try:
        async with db.session_factory(engine)() as session, session.begin():
            n = await deadlines.check_deadlines(
                session, deps=world.deps, now=NOW + dt.timedelta(hours=72)
            )
    finally:
        await engine.dispose()
    assert n == 1


async def test_the_reconciler_redrives_missing_referrals_with_the_same_ids(world: World) -> None:
    c = case(needs=(Service.LEGAL_AID, Service.COUNSELLING))
    await world.run(cases.record_case, case=c, now=NOW)
    before = {r.id for r in await world.referrals()}
    async with world.sessions() as session, session.begin():
        await session.execute(delete(Referral).where(Referral.service == "legal_aid"))
    assert await world.run(repair.reconcile, now=NOW) == 1
    assert await world.run(repair.reconcile, now=NOW) == 0
    assert {r.id for r in await world.referrals()} == before


async def test_the_reconciler_sweeps_a_slice_a_pass_and_each_unmet_need_every_pass(
    world: World,
) -> None:
    made = [case(needs=(Service.COUNSELLING,)) for _ in range(5)]
    for c in made:
        await world.run(cases.record_case, case=c, now=NOW)
    last = max(made, key=lambda c: c.case_id.hex)  # the sweep walks the cases in id order
    async with world.sessions() as session, session.begin():
        await session.execute(delete(Referral).where(Referral.case_id == last.case_id))
    sweep = repair.Sweep(size=2)
    passes = [await world.run(repair.reconcile, now=NOW, sweep=sweep) for _ in range(3)]
    assert passes == [0, 0, 1], "two cases a pass: the fifth is looked at in the third"
    assert sweep.after is None, "at the end, the next pass starts again from the first case"

    sheltered = case(needs=(Service.SHELTER,))
    await world.run(cases.record_case, case=sheltered, now=NOW)
    assert await world.referrals(sheltered.case_id) == []
    rumah = PartnerIn(slug="rumah-aman", name="Rumah Aman", kind="shelter", services=["shelter"])  # type: ignore[arg-type]
    await world.run(
        lambda s, deps: partners.add_partner(s, data=rumah, region=deps.region, now=NOW)
    )
    past_every_case = repair.Sweep(size=2, after=uuid.UUID(int=2**128 - 1))
    assert await world.run(repair.reconcile, now=NOW, sweep=past_every_case) == 1
    assert routed(await world.referrals(sheltered.case_id)) == [("shelter", "rumah-aman")]
    async with world.sessions() as session:
        assert (await session.scalars(select(UnmetNeed))).all() == []


async def test_a_deactivated_partner_gets_no_new_referrals_but_answers_open_ones(
    world: World,
) -> None:
    first = case(needs=(Service.COUNSELLING,))
    await world.run(cases.record_case, case=first, now=NOW)
    for _ in range(2):  # told once, however often the admin presses
        async with world.sessions() as session, session.begin():
            await partners.deactivate_partner(
                session, slug="bikksa-mentari", outbox=world.deps.outbox, now=NOW
            )
    told = [e for _, e in await world.events() if isinstance(e, ev.PartnerDeactivated)]
    assert told == [ev.PartnerDeactivated(partner_slug="bikksa-mentari", deactivated_at=NOW)]
    second = case(needs=(Service.COUNSELLING,))
    await world.run(cases.record_case, case=second, now=NOW)
    assert routed(await world.referrals(second.case_id)) == []
    (open_one,) = await world.referrals(first.case_id)
    answered = await world.run(
        replies.apply_reply,
        referral=open_one.id,
        slug="bikksa-mentari",
        status=ReferralStatus.ACCEPTED,
        now=NOW,
    )
    assert answered.status == "accepted"


def test_seed_file_is_the_four_partners_of_the_design() -> None:
    partners = read_partner_file(DEFAULT_PARTNERS_FILE)
    assert [(p.slug, p.kind.value) for p in partners] == [
        ("polresta-ppa", "police"),
        ("babinsa-bpp-tengah", "tni"),
        ("posbakum-aisyiyah", "legal_aid"),
        ("bikksa-mentari", "counselling"),
    ]


async def test_a_reply_over_nats_that_is_refused_goes_to_the_dlq_as_a_refusal(
    world: World,
) -> None:
    """The reply handler lets the refusal through: the shared consumer dead-letters it at once
    with 'refused by handler (<code>): <message_en>'; a whitespace-only reason is none."""
    c = case(needs=(Service.LEGAL_AID,))
    await world.run(cases.record_case, case=c, now=NOW)
    (r,) = await world.referrals()
    on_reply = reply_handler(world.deps, lambda: NOW)

    async def answer(slug: str, status: ReferralStatus, reason: str | None = None) -> None:
        reply = ev.PartnerReplied(
            referral_id=r.id, partner_slug=slug, status=status, reason=reason, replied_at=NOW
        )
        m = envelope.encode(reply, source=f"/partners/{slug}")
        async with world.sessions() as session, session.begin():
            await on_reply(session, envelope.decode(m.headers, m.body, nats_subject=m.subject))

    with pytest.raises(ReferralNotHeld) as foreign:
        await answer("polresta-ppa", ReferralStatus.ACCEPTED)
    with pytest.raises(ReasonRequired):
        await answer("posbakum-aisyiyah", ReferralStatus.REJECTED, reason="   ")
    e = foreign.value.errors[0]
    assert f"({e.code}): {e.message_en}" == "(not_found): Referral not found."
    await answer("posbakum-aisyiyah", ReferralStatus.REJECTED, reason="  no lawyer free  ")
    (r,) = await world.referrals()
    assert (r.status, r.reason) == ("rejected", "no lawyer free")
