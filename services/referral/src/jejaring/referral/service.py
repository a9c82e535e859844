"""Referral's business logic."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.models import Partner
from jejaring.referral.schemas import PartnerIn

log = logging.getLogger(__name__)


def read_partner_file(path: Path) -> list[PartnerIn]:
    """Partners described in a JSON seed file."""
    return TypeAdapter(list[PartnerIn]).validate_json(path.read_bytes())


async def seed_partners(session: AsyncSession, *, partners: Sequence[PartnerIn]) -> list[str]:
    """Add the partners that are not registered yet; return the slugs added."""
    existing = set((await session.scalars(select(Partner.slug))).all())
    added = []
    for p in partners:
        if p.slug in existing:
            continue
        session.add(
            Partner(
                slug=p.slug,
                name=p.name,
                kind=p.kind.value,
                services=[s.value for s in p.services],
                kelurahan=list(p.kelurahan),
                active=p.active,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        added.append(p.slug)
    if added:
        log.info("partners seeded", extra={"partners": added})
    return added


async def partner_slugs(session: AsyncSession) -> list[str]:
    """Every registered partner, active or not (a deactivated one keeps its stream)."""
    return list((await session.scalars(select(Partner.slug).order_by(Partner.slug))).all())
