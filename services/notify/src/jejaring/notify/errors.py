"""What notify refuses, by name: each a kind of `jejaring.shared.refusals.Refusal`."""

from __future__ import annotations

from jejaring.shared.refusals import FieldError, Forbidden, Invalid


class CaseReferenceRequired(Invalid):
    """Officers and the coordinator read the delivery log one case at a time."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "case_reference",
                "case_reference_required",
                "Sebutkan nomor kasus (case_reference): petugas dan koordinator melihat log "
                "pengiriman per kasus.",
                "Give a case reference (case_reference): officers and the coordinator read the "
                "delivery log one case at a time.",
            )
        )


class DeliveryLogNotForRole(Forbidden):
    """Partner staff do not read PPATBM's delivery log."""

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "authorization",
                "forbidden",
                "Log pengiriman hanya untuk admin, koordinator dan petugas.",
                "The delivery log is for the admin, the coordinator and officers only.",
            )
        )
