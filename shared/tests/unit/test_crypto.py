"""Sealing, master keys and their rotation, sealing to a one-time key, the personal fields."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from jejaring.shared import crypto
from jejaring.shared.contract import events as ev
from jejaring.shared.contract import personal
from jejaring.shared.contract.enums import (
    AgeGroup,
    ConsentGiver,
    PartnerKind,
    Place,
    ProofOfInability,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)

CASE = uuid.uuid4()


def test_a_sealed_token_opens_only_with_its_key_case_and_purpose() -> None:
    key = crypto.new_data_key()
    token = crypto.seal(key, b"Siti Aminah", associated=crypto.aad(CASE, "case.personal"))
    assert b"Siti" not in token.encode()
    assert crypto.unseal(key, token, associated=crypto.aad(CASE, "case.personal")) == b"Siti Aminah"
    for wrong_key, associated in [
        (crypto.new_data_key(), crypto.aad(CASE, "case.personal")),
        (key, crypto.aad(uuid.uuid4(), "case.personal")),
        (key, crypto.aad(CASE, "outbox")),
    ]:
        with pytest.raises(crypto.Unreadable):
            crypto.unseal(wrong_key, token, associated=associated)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(crypto.Unreadable):
        crypto.unseal(key, tampered, associated=crypto.aad(CASE, "case.personal"))


def test_master_keys_wrap_with_the_first_and_unwrap_with_any_after_rotation() -> None:
    old = crypto.MasterKeys.parse(crypto.generate_line("k1"))
    data_key = crypto.new_data_key()
    kid, wrapped = old.wrap(data_key, associated=crypto.aad(CASE, "data_key"))
    assert kid == "k1"
    rotated = crypto.MasterKeys.parse(crypto.generate_line("k2") + "\n" + old_line(old))
    assert rotated.current == "k2"
    assert rotated.unwrap(kid, wrapped, associated=crypto.aad(CASE, "data_key")) == data_key
    new_kid, rewrapped = rotated.wrap(data_key, associated=crypto.aad(CASE, "data_key"))
    assert new_kid == "k2"
    only_new = crypto.MasterKeys((rotated.keys[0],))
    assert only_new.unwrap(new_kid, rewrapped, associated=crypto.aad(CASE, "data_key")) == data_key
    with pytest.raises(crypto.Unreadable, match="k1"):
        only_new.unwrap(kid, wrapped, associated=crypto.aad(CASE, "data_key"))


def old_line(keys: crypto.MasterKeys) -> str:
    kid, key = keys.keys[0]
    return f"{kid}={crypto._b64(key)}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no key given"),
        ("k1", "id=base64"),
        ("k1=abc", "not 32 bytes"),
        ("bad id=" + "A" * 43, "id=base64"),
    ],
)
def test_a_malformed_master_key_setting_names_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(crypto.MasterKeyError, match=reason):
        crypto.MasterKeys.parse(text, setting="INTAKE_MASTER_KEYS")


def test_a_repeated_master_key_id_is_refused() -> None:
    line = crypto.generate_line("k1")
    with pytest.raises(crypto.MasterKeyError, match="twice"):
        crypto.MasterKeys.parse(f"{line},{line}")


def test_only_the_one_time_key_opens_what_was_sealed_to_it() -> None:
    recipient = crypto.Recipient()
    token = crypto.seal_to(recipient.public, b"data key", associated=b"x")
    assert recipient.open(token, associated=b"x") == b"data key"
    with pytest.raises(crypto.Unreadable):
        crypto.Recipient().open(token, associated=b"x")
    with pytest.raises(crypto.Unreadable):
        recipient.open(token, associated=b"y")


def _case() -> ev.CaseSnapshot:
    now = dt.datetime(2026, 11, 3, 2, 0, tzinfo=dt.UTC)
    return ev.CaseSnapshot(
        case_id=CASE,
        reference="BPT-2026-000001",
        version=1,
        kelurahan_code="64.71.05.1001",
        reported_at=now,
        place=Place.HOUSEHOLD,
        violence_forms=(ViolenceForm.PHYSICAL,),
        description="Dipukul oleh suami di rumah",
        risk_level=RiskLevel.HIGH,
        victims=(
            ev.Victim(
                name="Siti Aminah",
                sex=Sex.FEMALE,
                age_group=AgeGroup.A25_44,
                is_child=False,
                birth_date=dt.date(1990, 5, 1),
                phone="+6281234567890",
                address="Jl. Mawar 1",
            ),
        ),
        needs=(Service.LEGAL_AID,),
        consent=ev.Consent(
            given_by=ConsentGiver.VICTIM,
            scope=(PartnerKind.LEGAL_AID,),
            recorded_at=now,
            recorded_by="officer",
        ),
        legal_aid_proof=ev.LegalAidProof(kind=ProofOfInability.SKTM, number="SKTM/12/2026"),
        officer=ev.Contact(name="Petugas"),
    )


def test_conceal_hides_every_personal_field_and_reveal_brings_them_back() -> None:
    case = _case()
    key = crypto.new_data_key()
    sealed = personal.conceal(case, key)
    wire = sealed.model_dump_json()
    for text in ("Siti", "1990-05-01", "+6281234567890", "Mawar", "Dipukul", "SKTM/12"):
        assert text not in wire
    assert sealed.victims[0].sex == Sex.FEMALE and sealed.legal_aid_proof is not None
    assert personal.reveal(sealed, key) == case
    stripped = personal.reveal(sealed, None)
    assert stripped.sealed is None and stripped.victims[0].name is None
    assert stripped.legal_aid_proof == ev.LegalAidProof(kind=ProofOfInability.SKTM)
    with pytest.raises(crypto.Unreadable):
        personal.reveal(sealed, crypto.new_data_key())
