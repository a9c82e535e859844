"""The seed partners of docs/design.md §1 are registered once, however often referral starts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from jejaring.referral.app import create_runtime
from jejaring.referral.models import Partner
from jejaring.referral.settings import ReferralSettings


async def test_seeding_is_idempotent_across_restarts(database_url: str, tmp_path: Path) -> None:
    settings = ReferralSettings(
        database_url=database_url, data_dir=tmp_path, nats_url="nats://127.0.0.1:1"
    )
    for _ in range(2):  # two starts; NATS need not be up for the database side
        runtime = create_runtime(settings)
        await runtime.start()
        await runtime.stop()
    runtime = create_runtime(settings)
    async with runtime.sessions() as session:
        partners = (await session.scalars(select(Partner).order_by(Partner.slug))).all()
    await runtime.engine.dispose()
    assert [(p.slug, p.kind, p.services) for p in partners] == [
        ("babinsa-bpp-tengah", "tni", ["security_escort"]),
        ("bikksa-mentari", "counselling", ["counselling", "mediation"]),
        ("polresta-ppa", "police", ["law_enforcement", "protection"]),
        ("posbakum-aisyiyah", "legal_aid", ["legal_aid"]),
    ]
    assert all(p.active and p.kelurahan == [] for p in partners)
