"""Partner administration and partner answers over HTTP, with who-may-do-what."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jejaring.referral.app import create_app
from jejaring.referral.settings import ReferralSettings

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}
NEW = {
    "slug": "uptd-ppa-balikpapan",
    "name": "UPTD PPA Kota Balikpapan",
    "kind": "government",
    "services": ["shelter", "accompaniment"],
    "contacts": [
        {"name": "Piket", "phone": "0542000000", "quiet_hours": {"start": "21:00", "end": "06:00"}}
    ],
    "deadlines": {"high": 2},
}


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


def test_admin_adds_lists_and_deactivates_partners(client: TestClient) -> None:
    added = client.post("/api/v1/partners", json=NEW, headers=ADMIN)
    assert added.status_code == 201, added.text
    body: dict[str, Any] = added.json()
    assert body["deadlines"] == {"high": 2.0, "medium": 6.0, "low": 72.0}
    assert body["kelurahan"] == [], "no list: every kelurahan of the kecamatan"
    assert len(body["token"]) >= 40
    assert client.post("/api/v1/partners", json=NEW, headers=ADMIN).status_code == 409

    listed = client.get("/api/v1/partners", headers=ADMIN).json()
    assert [p["slug"] for p in listed][-1] == "uptd-ppa-balikpapan"
    assert len(listed) == 5
    assert all("token" not in p for p in listed)

    off = client.post("/api/v1/partners/uptd-ppa-balikpapan/deactivate", headers=ADMIN)
    assert off.json()["active"] is False
    assert client.post("/api/v1/partners/nobody/deactivate", headers=ADMIN).status_code == 404


def test_bad_partner_input_names_the_field(client: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({**NEW, "slug": "UPTD PPA"}, "slug"),
        ({**NEW, "kind": "church"}, "kind"),
        ({**NEW, "services": []}, "services"),
        ({**NEW, "contacts": [{"name": "x"}]}, "contacts.0"),
        ({**NEW, "kelurahan": ["64.71.01.1001"]}, "kelurahan"),
        ({**NEW, "deadlines": {"high": 0}}, "deadlines.high"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/partners", json=body, headers=ADMIN)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["field"] == field


def test_a_name_or_address_that_would_break_an_email_header_is_422(client: TestClient) -> None:
    """A partner's name goes into alert subjects: with a line break it once left an email
    retrying for ever. Control characters are refused, naming the field; nothing is stored."""
    contact = NEW["contacts"][0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({**NEW, "name": "UPTD PPA\nBcc: someone@example.org"}, "name"),
        ({**NEW, "name": "UPTD\rPPA"}, "name"),
        ({**NEW, "name": "UPTD\u2028PPA"}, "name"),
        ({**NEW, "contacts": [{**contact, "name": "Piket\tMalam"}]}, "contacts.0.name"),
        (
            {**NEW, "contacts": [{**contact, "email": "piket@uptd.example\u0000.org"}]},
            "contacts.0.email",
        ),
    ]
    for body, field in cases:
        r = client.post("/api/v1/partners", json=body, headers=ADMIN)
        assert r.status_code == 422, (field, r.text)
        (error,) = r.json()["detail"]
        assert error["field"] == field
        assert error["code"] in {"control_character", "string_pattern_mismatch"}, error
        assert "UPTD" not in r.text and "piket@" not in r.text, "no echo of the value"
    listed = client.get("/api/v1/partners", headers=ADMIN).json()
    assert "uptd-ppa-balikpapan" not in [p["slug"] for p in listed], "nothing half-written"
    long_name = {**NEW, "name": "U" * 201}
    too_long = client.post("/api/v1/partners", json=long_name, headers=ADMIN)
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["field"] == "name"


def test_only_the_admin_manages_and_a_partner_sees_only_its_own(client: TestClient) -> None:
    assert client.get("/api/v1/partners").status_code == 401
    token = client.post("/api/v1/partners", json=NEW, headers=ADMIN).json()["token"]
    partner = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/partners", headers=partner).status_code == 403
    assert (
        client.get("/api/v1/partners/uptd-ppa-balikpapan/referrals", headers=partner).json() == []
    )
    assert client.get("/api/v1/partners/polresta-ppa/referrals", headers=partner).status_code == 403
    unknown = "/api/v1/referrals/00000000-0000-0000-0000-000000000001/status"
    assert client.post(unknown, json={"status": "accepted"}, headers=partner).status_code == 404
    assert client.post(unknown, json={"status": "accepted"}, headers=ADMIN).status_code == 403

    rotated = client.post(
        "/api/v1/partners/uptd-ppa-balikpapan/token", json={"revoke_old": True}, headers=ADMIN
    ).json()["token"]
    assert (
        client.get("/api/v1/partners/uptd-ppa-balikpapan/referrals", headers=partner).status_code
        == 401
    )
    fresh = {"Authorization": f"Bearer {rotated}"}
    assert (
        client.get("/api/v1/partners/uptd-ppa-balikpapan/referrals", headers=fresh).status_code
        == 200
    )


def test_the_partner_contract_is_served_as_asyncapi(client: TestClient) -> None:
    doc = client.get("/docs/asyncapi").json()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {
        "referral.v1.to.<slug>.requested",
        "referral.v1.to.<slug>.cancelled",
        "referral.v1.to.<slug>.updated",
        "referral.v1.from.<slug>.<status>",
    }
    assert "ReferralRequested" in str(doc["components"]["schemas"])


def test_a_partners_contact_is_checked_strictly_though_the_wire_contract_is_tolerant(
    client: TestClient,
) -> None:
    """An admin's typo is refused, naming the field, even though a reader of the wire
    contract ignores fields it does not know."""
    typo = {
        **NEW,
        "contacts": [
            {
                **NEW["contacts"][0],
                "quiet_hours": {"start": "21:00", "end": "06:00", "ende": "07:00"},
            }
        ],
    }
    refused = client.post("/api/v1/partners", json=typo, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    fields = [(e["field"], e["code"]) for e in refused.json()["detail"]]
    assert ("contacts.0.quiet_hours.ende", "extra_forbidden") in fields


def _public_key() -> str:
    import secrets

    import nkeys

    seed = nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER)
    return str(nkeys.from_seed(seed).public_key.decode())


def _in_force(client: TestClient) -> list[str]:
    keys = client.get("/api/v1/nats/partner-keys", headers=ADMIN)
    assert keys.status_code == 200
    return [k["public_key"] for k in keys.json()]


def test_partner_nats_keys_rotate_revoke_and_leave_with_the_partner(client: TestClient) -> None:
    """Only public keys come here. A new key revokes the old ones, or with `rotate` leaves them
    valid for the grace days; revoking ends that; a deactivated partner's keys are not listed
    for the NATS configuration."""
    assert client.post("/api/v1/partners", json=NEW, headers=ADMIN).status_code == 201
    url = "/api/v1/partners/uptd-ppa-balikpapan/nats-keys"
    first, second, third = _public_key(), _public_key(), _public_key()
    made = client.post(url, json={"public_key": first, "expires_days": 30}, headers=ADMIN)
    assert made.status_code == 201, made.text
    assert made.json()["inbox_prefix"] == "_INBOX_uptd-ppa-balikpapan"
    assert "seed" not in made.text.lower()
    assert _in_force(client) == [first]

    rotated = client.post(url, json={"public_key": second, "rotate": True}, headers=ADMIN)
    grace = rotated.json()["still_valid"]
    assert [k["public_key"] for k in grace] == [first]
    assert sorted(_in_force(client)) == sorted([first, second])
    assert client.post(url + "/revoke", json={}, headers=ADMIN).json()[0]["public_key"] == first
    assert _in_force(client) == [second]

    client.post(url, json={"public_key": third}, headers=ADMIN)  # no rotate: second ends now
    assert _in_force(client) == [third]
    states = {k["public_key"]: k["revoked_at"] for k in client.get(url, headers=ADMIN).json()}
    assert states[third] is None and states[first] and states[second]
    again = client.post(url + "/revoke", json={"public_key": second}, headers=ADMIN)
    assert again.status_code == 404 and again.json()["detail"][0]["field"] == "public_key"

    client.post("/api/v1/partners/uptd-ppa-balikpapan/deactivate", headers=ADMIN)
    assert _in_force(client) == []
    refused = client.post(url, json={"public_key": _public_key()}, headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["detail"][0]["field"] == "slug"


def test_bad_nats_keys_name_the_field(client: TestClient) -> None:
    url = "/api/v1/partners/polresta-ppa/nats-keys"
    good = _public_key()
    broken = good[:-1] + ("A" if good[-1] != "A" else "B")  # checksum no longer matches
    for body, field in (
        ({"public_key": "SUAM" + good[4:]}, "public_key"),  # a seed: never sent here
        ({"public_key": broken}, "public_key"),
        ({"public_key": "hello"}, "public_key"),
        ({"public_key": good, "expires_days": 0}, "expires_days"),
        ({"public_key": good, "grace_days": 1000}, "grace_days"),
    ):
        r = client.post(url, json=body, headers=ADMIN)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["field"] == field
    assert client.post(url, json={"public_key": good}).status_code == 401
    assert client.post(url, json={"public_key": good}, headers=ADMIN).status_code == 201
    assert client.post(url, json={"public_key": good}, headers=ADMIN).status_code == 409
    nobody = client.post(
        "/api/v1/partners/nobody/nats-keys", json={"public_key": _public_key()}, headers=ADMIN
    )
    assert nobody.status_code == 404
