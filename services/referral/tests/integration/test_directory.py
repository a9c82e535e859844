"""The partner directory as Open Referral HSDS: the JSON validates against the vendored HSDS
3.0 schemas (their $refs resolved from the vendored files, never the network), for the seed
partners and one added at run time; a deactivated partner is not in it; only contacts marked
public are; the tabular package has the HSDS files and columns."""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from jejaring.referral.app import create_app
from jejaring.referral.directory import HSDS_DIR, hsds_id, write_package
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.region import load_region

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}
URL = "/api/v1/directory/hsds.json"
# The vendored schemas have no $id: each is registered under this base, so their relative
# $refs ("phone.json") resolve among them. The registry has no retriever: nothing is fetched.
BASE = "https://hsds.invalid/schema/"
SEED = {"polresta-ppa", "babinsa-bpp-tengah", "posbakum-aisyiyah", "bikksa-mentari"}
NEW = {
    "slug": "uptd-ppa-balikpapan",
    "name": "UPTD PPA Kota Balikpapan",
    "kind": "government",
    "services": ["shelter", "accompaniment"],
    "contacts": [
        {"name": "Layanan UPTD PPA", "phone": "0542 000000", "public": True},
        {"name": "Bu Kepala (HP pribadi)", "phone": "0811 999 999", "email": "kepala@x.example"},
    ],
}


def validator(name: str) -> Draft202012Validator:
    registry: Registry = Registry()
    for path in (HSDS_DIR / "schema").glob("*.json"):
        contents = json.loads(path.read_text("utf-8"))
        registry = registry.with_resource(BASE + path.name, DRAFT202012.create_resource(contents))
    registry = registry.crawl()
    schema = {"$ref": BASE + f"{name}.json"}
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def assert_valid(doc: dict[str, Any]) -> None:
    for key, name in (("organizations", "organization"), ("services", "service")):
        check = validator(name)
        for item in doc[key]:
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(item)]
            assert errors == [], (name, item["name"], errors)


@pytest.fixture
def client(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = ReferralSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token="admin-token-for-tests-0123456789",
    )
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 20
        while c.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield c


def test_the_validator_refuses_what_hsds_refuses() -> None:
    """The schemas really are applied through their $refs (a check that cannot fail is none)."""
    bad_phone = {
        "id": str(uuid.uuid4()),
        "name": "x",
        "description": "x",
        "contacts": [{"id": str(uuid.uuid4()), "phones": [{"id": str(uuid.uuid4())}]}],
    }
    errors = list(validator("organization").iter_errors(bad_phone))
    assert [e.message for e in errors] == ["'number' is a required property"]
    bad_status = {"id": str(uuid.uuid4()), "name": "x", "status": "open"}
    assert list(validator("service").iter_errors(bad_status))


def test_the_seed_partners_are_hsds_with_their_six_kelurahan(client: TestClient) -> None:
    answer = client.get(URL, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    doc = answer.json()
    assert doc["hsds_version"] == "3.0.0"
    assert_valid(doc)
    by_name = {o["name"]: o for o in doc["organizations"]}
    assert len(by_name) == len(SEED)
    police = by_name["Unit PPA Satreskrim Polresta Balikpapan"]
    assert police["id"] == hsds_id("organization", "polresta-ppa")
    assert police["description"].startswith("Kepolisian")
    (desk,) = police["contacts"]
    assert desk["name"] == "Piket Unit PPA"
    assert desk["email"] == "ppa.polresta@example.org"
    assert [p["number"] for p in desk["phones"]] == ["+62 811 0000 101"]
    # Posbakum's coordinator is not marked public: the organisation is listed, no contact.
    assert by_name["Pos Bantuan Hukum 'Aisyiyah"]["contacts"] == []
    assert "quiet_hours" not in answer.text and "preferred_channel" not in answer.text

    police_services = [s for s in doc["services"] if s["organization_id"] == police["id"]]
    assert sorted(s["name"] for s in police_services) == [
        "Laporan Polisi",
        "Perlindungan Kepolisian",
    ]
    region = load_region()
    for service in doc["services"]:
        assert service["status"] == "active"
        areas = service["service_areas"]
        assert [a["extent"] for a in areas] == list(region.codes)
        assert areas[0]["name"] == "Kelurahan Gunung Sari Ulu"
        assert "64.71.04.1001" in areas[0]["description"]
    # Stable: the same ids on the next read.
    assert client.get(URL, headers=ADMIN).json()["services"] == doc["services"]


def test_a_partner_added_at_run_time_is_in_it_and_a_deactivated_one_is_not(
    client: TestClient,
) -> None:
    added = client.post("/api/v1/partners", json=NEW, headers=ADMIN)
    assert added.status_code == 201, added.text
    doc = client.get(URL, headers=ADMIN).json()
    assert_valid(doc)
    (uptd,) = [o for o in doc["organizations"] if o["name"] == NEW["name"]]
    assert uptd["id"] == hsds_id("organization", "uptd-ppa-balikpapan")
    assert [c["name"] for c in uptd["contacts"]] == ["Layanan UPTD PPA"]
    assert "0811 999 999" not in json.dumps(doc) and "kepala@" not in json.dumps(doc)
    offered = [s for s in doc["services"] if s["organization_id"] == uptd["id"]]
    assert sorted(s["name"] for s in offered) == ["Pendampingan", "Rumah Aman"]
    for service in offered:
        assert len(service["service_areas"]) == 6, "no kelurahan given: all six"

    partner_token = {"Authorization": f"Bearer {added.json()['token']}"}
    assert client.get(URL, headers=partner_token).status_code == 200, "a partner may read it"
    assert client.get(URL).status_code == 401

    client.post("/api/v1/partners/polresta-ppa/deactivate", headers=ADMIN)
    after = client.get(URL, headers=ADMIN).json()
    assert_valid(after)
    names = {o["name"] for o in after["organizations"]}
    assert "Unit PPA Satreskrim Polresta Balikpapan" not in names
    police_id = hsds_id("organization", "polresta-ppa")
    assert all(s["organization_id"] != police_id for s in after["services"])
    assert len(names) == len(SEED)  # three seeds and UPTD


def test_the_tabular_package_has_the_hsds_files_and_columns(
    client: TestClient, tmp_path: Path
) -> None:
    client.post("/api/v1/partners", json=NEW, headers=ADMIN)
    doc = client.get(URL, headers=ADMIN).json()
    out = tmp_path / "hsds"
    written = write_package(doc, out)
    assert sorted(p.name for p in written) == [
        "contacts.csv",
        "datapackage.json",
        "organizations.csv",
        "phones.csv",
        "service_areas.csv",
        "services.csv",
    ]
    package = json.loads((out / "datapackage.json").read_text("utf-8"))
    assert package["version"] == "3.0.0"
    assert package["profile"] == "tabular-data-package"

    def table(name: str) -> tuple[list[str], list[dict[str, str]]]:
        with (out / name).open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)

    for resource in package["resources"]:
        header, rows = table(resource["path"])
        assert header == [f["name"] for f in resource["schema"]["fields"]]
        required = [
            f["name"] for f in resource["schema"]["fields"] if f["constraints"].get("required")
        ]
        for row in rows:
            assert all(row[name] for name in required), (resource["name"], row)
    org_header, orgs = table("organizations.csv")
    assert org_header[:4] == ["id", "name", "alternate_name", "description"]
    assert len(orgs) == 5
    _, services = table("services.csv")
    assert len(services) == len(doc["services"]) == 8
    area_header, areas = table("service_areas.csv")
    assert {"service_id", "name", "extent", "extent_type"} <= set(area_header)
    assert len(areas) == 8 * 6
    _, contacts = table("contacts.csv")
    assert sorted(c["name"] for c in contacts) == [
        "Konselor Piket",
        "Layanan UPTD PPA",
        "Piket Koramil",
        "Piket Unit PPA",
    ]
    phone_header, phones = table("phones.csv")
    assert {"contact_id", "organization_id", "number"} <= set(phone_header)
    assert {p["contact_id"] for p in phones} == {c["id"] for c in contacts}
