"""Referral's refusals, named: what each business rule answers when it says no.

Each is a kind from `jejaring.shared.refusals` (the edges map the kind: the HTTP API to its
status, the event consumer to the DLQ); the name says which rule refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from jejaring.shared.contract.enums import ReferralStatus
from jejaring.shared.refusals import Conflict, FieldError, Forbidden, Invalid, NotFound

# --- partners -------------------------------------------------------------------------------


class UnknownKelurahan(Invalid):
    """A partner is said to cover kelurahan the region does not have (422)."""

    def __init__(self, codes: Sequence[str]) -> None:
        listed = ", ".join(codes)
        super().__init__(
            FieldError(
                "kelurahan",
                "unknown_kelurahan",
                f"Kode kelurahan tidak dikenal: {listed}.",
                f"Unknown kelurahan codes: {listed}.",
            )
        )


class PartnerExists(Conflict):
    """A partner with this slug is already registered (409)."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            FieldError(
                "slug",
                "partner_exists",
                f"Mitra '{slug}' sudah terdaftar.",
                f"Partner '{slug}' is already registered.",
            )
        )


class PartnerNotFound(NotFound):
    """No partner has this slug (404)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError("id", "not_found", "Mitra tidak ditemukan.", "Partner not found.")
        )


class NatsKeyExists(Conflict):
    """This NKey public key is already registered (409): each partner key is made anew."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "public_key",
                "nats_key_exists",
                "Kunci NATS ini sudah terdaftar; buat kunci baru.",
                "This NATS key is already registered; make a new one.",
            )
        )


class PartnerInactive(Conflict):
    """A deactivated partner is given no new NATS key (409): it would not be accepted."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "slug",
                "partner_inactive",
                "Mitra ini tidak aktif; kunci NATS tidak dibuat.",
                "This partner is deactivated; no NATS key is made.",
            )
        )


class NatsKeyNotFound(NotFound):
    """The partner has no valid key with this public key (404)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "public_key",
                "not_found",
                "Mitra ini tidak memiliki kunci NATS yang berlaku dengan nilai ini.",
                "This partner has no valid NATS key with this value.",
            )
        )


# --- partner answers (the FHIR Task state machine) -------------------------------------------


class ReferralNotHeld(NotFound):
    """The referral does not exist, or the answering partner does not hold it (404: a partner
    learns nothing about referrals that are not its own)."""

    def __init__(self) -> None:
        super().__init__(
            FieldError("id", "not_found", "Rujukan tidak ditemukan.", "Referral not found.")
        )


class IllegalTransition(Conflict):
    """The state machine does not allow the move from the referral's status (409)."""

    def __init__(
        self, current: ReferralStatus, wanted: ReferralStatus, allowed: Sequence[ReferralStatus]
    ) -> None:
        names = ", ".join(s.value for s in allowed) or "tidak ada (status akhir)"
        names_en = ", ".join(s.value for s in allowed) or "none (final status)"
        super().__init__(
            FieldError(
                "status",
                "illegal_transition",
                f"Status rujukan tidak dapat berubah dari '{current.value}' ke "
                f"'{wanted.value}'. Yang diizinkan: {names}.",
                f"A referral cannot go from '{current.value}' to '{wanted.value}'. "
                f"Allowed: {names_en}.",
            )
        )


class ReasonRequired(Invalid):
    """Rejected, failed and cancelled need a reason (422)."""

    def __init__(self, status: ReferralStatus) -> None:
        super().__init__(
            FieldError(
                "reason",
                "reason_required",
                f"Alasan wajib diisi untuk status '{status.value}'.",
                f"A reason is required for status '{status.value}'.",
            )
        )


# --- who may do what (the API's authorization) ------------------------------------------------


class NotPermitted(Forbidden):
    """The caller is authenticated but may not do this (403)."""

    message = message_en = ""

    def __init__(self) -> None:
        super().__init__(FieldError("authorization", "forbidden", self.message, self.message_en))


class AdminOnly(NotPermitted):
    message = "Hanya admin yang boleh melakukan ini."
    message_en = "Only an admin may do this."


class OwnReferralsOnly(NotPermitted):
    message = "Mitra hanya boleh melihat rujukannya sendiri."
    message_en = "A partner may see only its own referrals."


class HolderOnly(NotPermitted):
    message = "Hanya mitra pemegang rujukan yang boleh menjawabnya."
    message_en = "Only the partner holding a referral may answer it."


class AuditReadersOnly(NotPermitted):
    message = "Hanya petugas pelindungan data (DPO) dan koordinator yang boleh membaca jejak audit."
    message_en = "Only the data protection officer and the coordinator may read the audit trail."
