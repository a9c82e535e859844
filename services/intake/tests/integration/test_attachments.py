"""Attachments of a case (issue 20, item 4) on a real nats-server and database: uploads checked
by size and content, files sealed outside the database, R6 for partner staff through the
referrals intake has read from REFERRAL_EVENTS, nothing on any stream, erasure and deletion."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared import crypto
from jejaring.shared.contract.enums import ReferralStatus, Service
from jejaring.shared.contract.events import PartnerDeactivated, ReferralStatusChanged
from jejaring.testing import EXAMPLE_CASE, ShiftedClock, publish, sample_events, until

ADMIN = "admin-token-for-tests-0123456789"
LIMIT = 64 * 1024
POSBAKUM = "posbakum-aisyiyah"
BABINSA = "babinsa-bpp-tengah"
# A PDF whose body says something only this test writes (the "SKTM" of the victim).
MARKER = b"SKTM-KELURAHAN-KARANG-REJO-NOMOR-474-GAMMA-ZULU"
SKTM = b"%PDF-1.7\n" + MARKER + b"\n" + os.urandom(20_000) + MARKER + b"\n%%EOF\n"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(3000) + MARKER


@pytest.fixture
def client(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """Intake on a real nats-server and database, attachments up to LIMIT bytes."""
    settings = IntakeSettings(
        database_url=database_url,
        nats_url=nats_url,
        data_dir=tmp_path,
        admin_token=ADMIN,
        master_keys=crypto.generate_line("k1"),
        attachment_max_bytes=LIMIT,
    )
    app = create_app(settings, clock=ShiftedClock(dt.datetime.now(dt.UTC)))
    with TestClient(app, raise_server_exceptions=False) as c:
        until(lambda: c.get("/readyz").status_code == 200)
        yield c


def person(client: TestClient, role: str, **more: str) -> dict[str, str]:
    user: dict[str, Any] = {"name": f"Staf {uuid.uuid4().hex[:6]}", "role": role, **more}
    if role == "officer":
        user.setdefault("kelurahan_code", EXAMPLE_CASE["kelurahan_code"])
    r = client.post("/api/v1/users", json=user, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def record(client: TestClient, officer: dict[str, str]) -> str:
    r = client.post("/api/v1/cases", json=copy.deepcopy(EXAMPLE_CASE), headers=officer)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def attach(
    client: TestClient,
    who: dict[str, str],
    case_id: str,
    kind: str,
    data: bytes,
    *,
    name: str = "dokumen.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return client.post(
        f"/api/v1/cases/{case_id}/attachments",
        data={"kind": kind},
        files={"file": (name, data, content_type)},
        headers=who,
    )


def refer(
    nats_url: str,
    case_id: str,
    slug: str,
    service: Service,
    status: ReferralStatus,
    *,
    referral_id: uuid.UUID | None = None,
    sequence: int = 1,
) -> uuid.UUID:
    """A referral event as referral publishes it on REFERRAL_EVENTS; intake reads it."""
    base = next(e for e in sample_events() if isinstance(e, ReferralStatusChanged))
    referral_id = referral_id or uuid.uuid4()
    event = base.model_copy(
        update={
            "referral_id": referral_id,
            "case_id": uuid.UUID(case_id),
            "partner_slug": slug,
            "service": service,
            "status": status,
            "sequence": sequence,
        }
    )
    publish(nats_url, event)
    return referral_id


def referral_status(
    client: TestClient, officer: dict[str, str], case_id: str, rid: uuid.UUID
) -> str:
    case = client.get(f"/api/v1/cases/{case_id}", headers=officer).json()
    return next((r["status"] for r in case["referrals"] if r["referral_id"] == str(rid)), "")


def stored_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "attachments"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


async def _every_message(nats_url: str) -> list[bytes]:
    """Every message on every stream of the server: subject, headers and data."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        out = []
        for info in await js.streams_info():
            state = info.state
            if not state.messages:
                continue
            for seq in range(max(1, state.first_seq), state.last_seq + 1):
                try:
                    m = await js.get_msg(info.config.name or "", seq)
                except nats.js.errors.NotFoundError:
                    continue
                out.append((m.subject or "").encode() + repr(m.headers).encode() + (m.data or b""))
        return out
    finally:
        await nc.close()


def test_uploads_are_checked_by_size_and_content_with_clear_messages(
    client: TestClient, nats_url: str, tmp_path: Path
) -> None:
    officer = person(client, "officer")
    case_id = record(client, officer)

    too_big = attach(client, officer, case_id, "sktm", b"%PDF-" + b"x" * LIMIT)
    assert too_big.status_code == 413, too_big.text
    [error] = too_big.json()["detail"]
    assert (error["field"], error["code"]) == ("file", "file_too_large")
    assert error["message"] == "Berkas terlalu besar: paling besar 64 KB."
    assert error["message_en"] == "The file is too large: at most 64 KB."

    # a declared length past the limit is refused before the body is read
    huge = client.post(
        f"/api/v1/cases/{case_id}/attachments",
        content=b"--x\r\n",
        headers={
            **officer,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(50 * 1024 * 1024),
        },
    )
    assert huge.status_code == 413, huge.text
    assert huge.json()["detail"] == too_big.json()["detail"]  # the same words

    # a text file named and typed as a photo is refused by its content
    fake = attach(
        client,
        officer,
        case_id,
        "photo",
        b"<html>bukan foto</html>",
        name="foto.jpg",
        content_type="image/jpeg",
    )
    assert fake.status_code == 422, fake.text
    [error] = fake.json()["detail"]
    assert (error["field"], error["code"]) == ("file", "file_type")
    assert "JPEG, PNG atau WebP" in error["message"] and "PDF" in error["message"]

    wrong_kind = attach(client, officer, case_id, "ktp", SKTM)
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["detail"][0]["field"] == "kind"
    no_file = attach(client, officer, case_id, "sktm", b"")
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["code"] == "required"
    not_a_form = client.post(
        f"/api/v1/cases/{case_id}/attachments", json={"kind": "sktm"}, headers=officer
    )
    assert not_a_form.status_code == 422
    assert not_a_form.json()["detail"][0]["field"] == "file"

    # the same document, named anything, is taken for what it is
    ok = attach(client, officer, case_id, "sktm", SKTM, name="scan.txt", content_type="text/plain")
    assert ok.status_code == 201, ok.text
    assert ok.json()["content_type"] == "application/pdf"
    assert ok.json()["size"] == len(SKTM)
    listed = client.get(f"/api/v1/cases/{case_id}/attachments", headers=officer).json()
    assert [a["id"] for a in listed["items"]] == [ok.json()["id"]]
    assert listed["max_bytes"] == LIMIT
    assert len(stored_files(tmp_path)) == 1  # nothing of the refused uploads was kept


def test_the_file_is_sealed_outside_the_database_and_nothing_of_it_is_on_any_stream(
    client: TestClient, nats_url: str, tmp_path: Path
) -> None:
    officer = person(client, "officer")
    case_id = record(client, officer)
    r = attach(client, officer, case_id, "sktm", SKTM, name="SKTM Zulaikha.pdf")
    assert r.status_code == 201, r.text
    attachment_id = r.json()["id"]
    got = client.get(f"/api/v1/cases/{case_id}/attachments/{attachment_id}", headers=officer)
    messages = client.portal.call(_every_message, nats_url)  # type: ignore[union-attr]
    assert got.status_code == 200 and got.content == SKTM
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith('attachment; filename="sktm-')

    [file] = stored_files(tmp_path)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert len(file.name) >= 43  # secrets.token_urlsafe(32): 256 random bits
    raw = file.read_bytes()
    assert MARKER not in raw and SKTM[9:200] not in raw
    assert b"Zulaikha" not in raw and attachment_id.encode() not in raw

    assert any(b"case.v1.created" in m for m in messages)  # the streams were read
    sha = hashlib.sha256(SKTM).hexdigest().encode()
    for m in messages:
        for needle in (
            MARKER,
            SKTM[9:200],
            sha,
            file.name.encode(),
            attachment_id.encode(),
            b"Zulaikha",
            b"attachment",
        ):
            assert needle not in m, needle


def test_r6_the_sktm_reaches_legal_aid_staff_and_not_the_babinsa_nor_another_kelurahan(
    client: TestClient, nats_url: str, tmp_path: Path
) -> None:
    officer = person(client, "officer")
    elsewhere = person(client, "officer", kelurahan_code="64.71.04.1001")
    paralegal = person(client, "partner_staff", partner_slug=POSBAKUM)
    babinsa = person(client, "partner_staff", partner_slug=BABINSA)
    case_id = record(client, officer)
    sktm = attach(client, officer, case_id, "sktm", SKTM).json()
    photo = attach(client, officer, case_id, "photo", PHOTO, name="luka.jpg").json()
    legal = refer(nats_url, case_id, POSBAKUM, Service.LEGAL_AID, ReferralStatus.REQUESTED)
    escort = refer(nats_url, case_id, BABINSA, Service.SECURITY_ESCORT, ReferralStatus.ACCEPTED)
    until(lambda: referral_status(client, officer, case_id, escort) == "accepted")
    until(lambda: referral_status(client, officer, case_id, legal) == "requested")

    # legal aid: the SKTM only (not the photo), the same bytes
    theirs = client.get(f"/api/v1/referrals/{legal}/attachments", headers=paralegal)
    assert theirs.status_code == 200, theirs.text
    assert [a["id"] for a in theirs.json()["items"]] == [sktm["id"]]
    got = client.get(f"/api/v1/referrals/{legal}/attachments/{sktm['id']}", headers=paralegal)
    assert got.status_code == 200 and got.content == SKTM
    assert got.headers["cache-control"] == "no-store"
    photo_url = f"/api/v1/referrals/{legal}/attachments/{photo['id']}"
    assert client.get(photo_url, headers=paralegal).status_code == 404

    # the Babinsa: nothing through its own referral, nor through legal aid's
    mine = client.get(f"/api/v1/referrals/{escort}/attachments", headers=babinsa)
    assert mine.status_code == 200 and mine.json()["items"] == []
    for url in (
        f"/api/v1/referrals/{escort}/attachments/{sktm['id']}",
        f"/api/v1/referrals/{legal}/attachments/{sktm['id']}",
        f"/api/v1/referrals/{legal}/attachments",
    ):
        assert client.get(url, headers=babinsa).status_code == 404, url
    # partner staff may not use the case's own routes
    case_url = f"/api/v1/cases/{case_id}/attachments/{sktm['id']}"
    assert client.get(case_url, headers=paralegal).status_code == 403
    # an officer of another kelurahan does not learn the case exists
    assert client.get(case_url, headers=elsewhere).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}/attachments", headers=elsewhere).status_code == 404

    # once legal aid rejects the referral, the document is no longer theirs
    refer(
        nats_url,
        case_id,
        POSBAKUM,
        Service.LEGAL_AID,
        ReferralStatus.REJECTED,
        referral_id=legal,
        sequence=2,
    )
    until(lambda: referral_status(client, officer, case_id, legal) == "rejected")
    gone = client.get(f"/api/v1/referrals/{legal}/attachments/{sktm['id']}", headers=paralegal)
    assert gone.status_code == 404
    assert (
        client.get(f"/api/v1/referrals/{legal}/attachments", headers=paralegal).json()["items"]
        == []
    )

    trail = client.get(
        "/api/v1/audit",
        params={
            "case_reference": client.get(f"/api/v1/cases/{case_id}", headers=officer).json()[
                "reference"
            ]
        },
        headers=person(client, "dpo"),
    ).json()["items"]
    reads = [r for r in trail if r["action"] == "attachment.read"]
    assert [(r["role"], r["subject_id"]) for r in reads] == [("partner_staff", sktm["id"])]


def test_staff_of_a_partner_referral_deactivated_receive_no_document_any_more(
    client: TestClient, nats_url: str
) -> None:
    officer = person(client, "officer")
    paralegal = person(client, "partner_staff", partner_slug=POSBAKUM)
    case_id = record(client, officer)
    sktm = attach(client, officer, case_id, "sktm", SKTM).json()
    legal = refer(nats_url, case_id, POSBAKUM, Service.LEGAL_AID, ReferralStatus.ACCEPTED)
    until(lambda: referral_status(client, officer, case_id, legal) == "accepted")
    url = f"/api/v1/referrals/{legal}/attachments/{sktm['id']}"
    assert client.get(url, headers=paralegal).status_code == 200

    publish(
        nats_url, PartnerDeactivated(partner_slug=POSBAKUM, deactivated_at=dt.datetime.now(dt.UTC))
    )
    until(lambda: client.get(url, headers=paralegal).status_code == 404)
    listing = client.get(f"/api/v1/referrals/{legal}/attachments", headers=paralegal)
    assert listing.status_code == 404
    # the referral itself is untouched: the officer still sees it accepted
    assert referral_status(client, officer, case_id, legal) == "accepted"


def test_erasure_deletes_the_files_and_deleting_one_removes_its_file(
    client: TestClient, nats_url: str, tmp_path: Path
) -> None:
    officer = person(client, "officer")
    dpo = person(client, "dpo")
    case_id = record(client, officer)
    first = attach(client, officer, case_id, "sktm", SKTM).json()
    second = attach(client, officer, case_id, "photo", PHOTO).json()
    assert len(stored_files(tmp_path)) == 2

    r = client.delete(f"/api/v1/cases/{case_id}/attachments/{second['id']}", headers=officer)
    assert r.status_code == 204
    assert len(stored_files(tmp_path)) == 1
    url = f"/api/v1/cases/{case_id}/attachments/{second['id']}"
    assert client.get(url, headers=officer).status_code == 404

    r = client.post(
        f"/api/v1/cases/{case_id}/erase", json={"reason": "subject_request"}, headers=dpo
    )
    assert r.status_code == 200, r.text
    assert stored_files(tmp_path) == []
    listed = client.get(f"/api/v1/cases/{case_id}/attachments", headers=officer).json()
    got = client.get(f"/api/v1/cases/{case_id}/attachments/{first['id']}", headers=officer)
    again = attach(client, officer, case_id, "sktm", SKTM)
    assert [a["erased_at"] is not None for a in listed["items"]] == [True]
    assert got.status_code == 409 and got.json()["detail"][0]["code"] == "case_erased"
    assert again.status_code == 409
