"""The partner directory as Open Referral HSDS 3.0 (data/hsds, vendored unchanged), so the
city's other service directories can import Jejaring's partners.

One organization per active partner, one service per service it offers, one service area per
kelurahan a service covers (named, with its Kemendagri code, from the region configuration),
and the partner's contacts marked `public` with their phones. Nothing else of a contact (its
preferred channel, its quiet hours) and no contact not marked public leaves referral this way.
Ids are UUIDs derived from the partner's slug (uuid5), stable across exports, so an importer
updates a partner instead of adding it again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.referral.models import Partner
from jejaring.shared.contract.enums import PartnerKind, Service
from jejaring.shared.region import Region

HSDS_DIR = Path(__file__).parent / "data" / "hsds"
HSDS_VERSION = "3.0.0"
# The namespace of every id in the directory; never change it (importers key on the ids).
DIRECTORY_NAMESPACE = uuid.UUID("3f1e6c52-8d0b-4c8e-9a57-1b2d7e4f6a90")
# A nested list of an HSDS object → the tabular resource its items become rows of.
_NESTED = {"contacts": "contact", "phones": "phone", "service_areas": "service_area"}
# The resources the directory fills, in the order of the package.
RESOURCES = ("organization", "service", "service_area", "contact", "phone")


def hsds_id(*parts: str) -> str:
    """A stable id for one object of the directory, e.g. ("service", slug, "legal_aid")."""
    return str(uuid.uuid5(DIRECTORY_NAMESPACE, "/".join(parts)))


def _where(region: Region) -> str:
    k = region.kecamatan
    return f"Kecamatan {k.name}, {k.city}, {k.province}"


def _contacts(p: Partner, org_id: str) -> list[dict[str, Any]]:
    """The partner's contacts marked public, as HSDS contacts with their phone."""
    out = []
    for index, c in enumerate(p.contacts):
        if not c.get("public"):
            continue
        contact_id = hsds_id("contact", p.slug, str(index))
        contact: dict[str, Any] = {"id": contact_id, "organization_id": org_id, "name": c["name"]}
        if c.get("email"):
            contact["email"] = c["email"]
        if c.get("phone"):
            contact["phones"] = [
                {
                    "id": hsds_id("phone", p.slug, str(index)),
                    "contact_id": contact_id,
                    "organization_id": org_id,
                    "number": c["phone"],
                    "type": "voice",
                }
            ]
        out.append(contact)
    return out


def _service(p: Partner, org_id: str, code: str, region: Region) -> dict[str, Any]:
    service_id = hsds_id("service", p.slug, code)
    label = Service(code).label("id")
    covered = [k for k in region.kelurahan if p.covers(k.code)]
    return {
        "id": service_id,
        "organization_id": org_id,
        "name": label,
        "description": (
            f"{label} oleh {p.name} bagi perempuan dan anak korban kekerasan, melalui rujukan "
            f"PPATBM {_where(region)}."
        ),
        "status": "active",
        "service_areas": [
            {
                "id": hsds_id("service_area", p.slug, code, k.code),
                "service_id": service_id,
                "name": f"Kelurahan {k.name}",
                "description": f"Kelurahan {k.name} (kode Kemendagri {k.code}), {_where(region)}.",
                "extent": k.code,
                "extent_type": "text",
            }
            for k in covered
        ],
    }


def partner_entries(p: Partner, region: Region) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One partner as an HSDS organization and its services."""
    org_id = hsds_id("organization", p.slug)
    organization = {
        "id": org_id,
        "name": p.name,
        "description": (
            f"{PartnerKind(p.kind).label('id')}: mitra jaringan rujukan perlindungan perempuan "
            f"dan anak (PPATBM) {_where(region)}."
        ),
        "contacts": _contacts(p, org_id),
    }
    return organization, [_service(p, org_id, s, region) for s in p.services]


async def directory(session: AsyncSession, *, region: Region, now: dt.datetime) -> dict[str, Any]:
    """Every active partner as HSDS: `{"hsds_version", "generated_at", "organizations",
    "services"}`, each item an HSDS object (organization.json, service.json)."""
    rows = await session.scalars(
        select(Partner).where(Partner.active.is_(True)).order_by(Partner.slug)
    )
    organizations: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for p in rows.all():
        organization, offered = partner_entries(p, region)
        organizations.append(organization)
        services.extend(offered)
    return {
        "hsds_version": HSDS_VERSION,
        "generated_at": now.isoformat(),
        "organizations": organizations,
        "services": services,
    }


def _rows(resource: str, item: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """An HSDS object and the objects nested in it, as (resource, its scalar fields)."""
    yield resource, {k: v for k, v in item.items() if not isinstance(v, list | dict)}
    for key, nested in _NESTED.items():
        for child in item.get(key, []):
            yield from _rows(nested, child)


def package_descriptor() -> dict[str, Any]:
    """The vendored HSDS datapackage.json with only the resources the directory fills."""
    descriptor: dict[str, Any] = json.loads((HSDS_DIR / "datapackage.json").read_text("utf-8"))
    by_name = {r["name"]: r for r in descriptor["resources"]}
    return {**descriptor, "resources": [by_name[name] for name in RESOURCES]}


def write_package(doc: dict[str, Any], out: Path) -> list[Path]:
    """The directory `doc` (from `directory`) as the HSDS tabular package in `out`:
    datapackage.json and one CSV per resource, its columns those of the HSDS resource (empty
    where the directory has nothing). Returns the files written."""
    descriptor = package_descriptor()
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCES}
    for kind, key in (("organization", "organizations"), ("service", "services")):
        for item in doc[key]:
            for resource, row in _rows(kind, item):
                tables[resource].append(row)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "datapackage.json"]
    written[0].write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", "utf-8")
    for resource in descriptor["resources"]:
        columns = [f["name"] for f in resource["schema"]["fields"]]
        path = out / resource["path"]
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
            writer.writeheader()
            writer.writerows(tables[resource["name"]])
        written.append(path)
    return written
