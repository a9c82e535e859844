"""What intake refuses, by name: each a kind of `jejaring.shared.refusals.Refusal`."""

from __future__ import annotations

from typing import ClassVar

from jejaring.shared.refusals import Conflict, FieldError, Forbidden, Invalid, NotFound, Refusal


class _OneReason(Refusal):
    """A refusal that always gives the same reason (`reason`)."""

    reason: ClassVar[FieldError]

    def __init__(self) -> None:
        super().__init__(self.reason)


class CaseNotFound(_OneReason, NotFound):
    """No such case, or another kelurahan's: an officer does not learn that it exists."""

    reason = FieldError("id", "not_found", "Kasus tidak ditemukan.", "Case not found.")


class CaseClosed(_OneReason, Conflict):
    """A closed case is not changed again."""

    reason = FieldError(
        "status",
        "case_closed",
        "Kasus sudah ditutup dan tidak dapat diubah.",
        "The case is closed and cannot be changed.",
    )


class AdminHasNoCases(_OneReason, Forbidden):
    """Cases are for officers and the coordinator; the admin manages users."""

    reason = FieldError(
        "authorization",
        "forbidden",
        "Peran admin mengelola pengguna, bukan kasus.",
        "The admin role manages users, not cases.",
    )


class OutsideOwnKelurahan(_OneReason, Forbidden):
    """An officer records cases in their own kelurahan only."""

    reason = FieldError(
        "authorization",
        "forbidden",
        "Petugas hanya boleh mencatat kasus di kelurahannya sendiri.",
        "An officer may record cases only in their own kelurahan.",
    )


class RoleNotAllowed(Forbidden):
    """The asker's role may not do this."""

    def __init__(self, role: str, allowed: tuple[str, ...]) -> None:
        only = ", ".join(allowed)
        super().__init__(
            FieldError(
                "authorization",
                "forbidden",
                f"Peran '{role}' tidak boleh melakukan ini (hanya: {only}).",
                f"Role '{role}' may not do this (only: {only}).",
            )
        )


class IdempotencyKeyReused(_OneReason, Invalid):
    """The client's Idempotency-Key came back with a different case (IETF Idempotency-Key draft:
    refused, rather than answered with a case the client did not send)."""

    reason = FieldError(
        "Idempotency-Key",
        "key_reused",
        "Idempotency-Key ini sudah dipakai untuk kasus lain; buat kunci baru untuk kasus baru.",
        "This Idempotency-Key was used for a different case; use a new key for a new case.",
    )


class OfficerNeedsKelurahan(_OneReason, Invalid):
    """An officer is bound to one kelurahan."""

    reason = FieldError(
        "kelurahan_code",
        "officer_needs_kelurahan",
        "Petugas harus terikat pada satu kelurahan.",
        "An officer must be bound to one kelurahan.",
    )


class OnlyOfficersHaveKelurahan(_OneReason, Invalid):
    """The coordinator and the admin see the whole kecamatan: no kelurahan of their own."""

    reason = FieldError(
        "kelurahan_code",
        "only_officers_have_kelurahan",
        "Hanya petugas yang terikat pada kelurahan.",
        "Only officers are bound to a kelurahan.",
    )
