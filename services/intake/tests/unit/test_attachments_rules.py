"""Attachments' rules that need no server: the type by content and R6's table."""

from __future__ import annotations

import pytest

from jejaring.intake.attachments import PARTNER_SERVICES, Kind, kinds_for, sniff
from jejaring.shared.contract.enums import ReferralStatus, Service


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.4", "application/pdf"),
        (b"GIF89a", None),
        (b"PK\x03\x04", None),
        (b"", None),
    ],
)
def test_sniff_reads_the_type_from_the_first_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_r6_legal_aid_gets_the_proofs_of_inability_to_pay_only_while_the_referral_is_live() -> None:
    assert set(PARTNER_SERVICES) == set(Kind)  # one entry per kind, in one table
    assert kinds_for(Service.LEGAL_AID, ReferralStatus.REQUESTED) == {Kind.SKTM, Kind.PKH}
    assert kinds_for(Service.LAW_ENFORCEMENT, ReferralStatus.ACCEPTED) == {Kind.POLICE_REPORT}
    assert kinds_for(Service.SECURITY_ESCORT, ReferralStatus.ACCEPTED) == set()
    for status in ("rejected", "cancelled", "completed", "failed"):
        assert kinds_for(Service.LEGAL_AID, status) == set(), status
    assert not any(Kind.PHOTO in kinds_for(s, "accepted") for s in Service)
