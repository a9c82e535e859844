"""What intake refuses, by name: each a kind of `jejaring.shared.refusals.Refusal`."""

from __future__ import annotations

from typing import ClassVar

from jejaring.shared.audit import AuditUnavailable as AuditUnavailable
from jejaring.shared.refusals import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    Refusal,
    Unauthenticated,
    Unavailable,
)


class _OneReason(Refusal):
    """A refusal that always gives the same reason (`reason`)."""

    reason: ClassVar[FieldError]

    def __init__(self) -> None:
        super().__init__(self.reason)


class CaseNotFound(_OneReason, NotFound):
    """No such case, or another kelurahan's: an officer does not learn that it exists."""

    reason = FieldError("id", "not_found", "Kasus tidak ditemukan.", "Case not found.")


class CaseRestricted(_OneReason, Forbidden):
    """Need to know: an officer of the case's kelurahan who neither recorded it nor is assigned
    to it sees it in the list (no names) but may not open or change it."""

    reason = FieldError(
        "id",
        "need_to_know",
        "Kasus ini hanya dapat dibuka oleh petugas yang mencatatnya, petugas yang ditugaskan, "
        "dan koordinator. Minta koordinator menugaskan Anda bila Anda menanganinya.",
        "Only the officer who recorded this case, officers assigned to it and the coordinator "
        "may open it. Ask the coordinator to assign you if you handle it.",
    )


class NoOverrideWaiting(_OneReason, Conflict):
    """Only a consent override that waits can be confirmed."""

    reason = FieldError(
        "consent.given_by",
        "no_override_waiting",
        "Kasus ini tidak memiliki pengecualian persetujuan yang menunggu konfirmasi.",
        "This case has no consent override waiting for confirmation.",
    )


class OwnOverride(_OneReason, Forbidden):
    """A consent override needs a second person: its recorder cannot confirm it."""

    reason = FieldError(
        "consent.recorded_by",
        "override_needs_second_person",
        "Pengecualian persetujuan harus dikonfirmasi oleh orang lain, bukan yang mencatatnya.",
        "A consent override must be confirmed by someone other than the person who recorded it.",
    )


class NotAnOfficerHere(_OneReason, Invalid):
    """A case is assigned to an active officer of its own kelurahan."""

    reason = FieldError(
        "officer_id",
        "not_an_officer_of_the_kelurahan",
        "Kasus hanya dapat ditugaskan kepada petugas aktif di kelurahan kasus itu.",
        "A case can only be assigned to an active officer of the case's kelurahan.",
    )


class CaseClosed(_OneReason, Conflict):
    """A closed case is not changed again."""

    reason = FieldError(
        "status",
        "case_closed",
        "Kasus sudah ditutup dan tidak dapat diubah.",
        "The case is closed and cannot be changed.",
    )


class CaseErased(_OneReason, Conflict):
    """An erased case's personal fields are gone: it is not changed, nor erased, again."""

    reason = FieldError(
        "erased_at",
        "case_erased",
        "Data pribadi kasus ini sudah dihapus; kasus tidak dapat diubah.",
        "The case's personal data was erased; the case cannot be changed.",
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


class PartnerStaffNeedsPartner(_OneReason, Invalid):
    """Partner staff act for one partner; the slug names it."""

    reason = FieldError(
        "partner_slug",
        "partner_staff_needs_partner",
        "Staf mitra harus terikat pada satu mitra (partner_slug).",
        "Partner staff must be bound to one partner (partner_slug).",
    )


class OnlyPartnerStaffHavePartner(_OneReason, Invalid):
    """Officers, the coordinator and admins act for PPATBM, not for a partner."""

    reason = FieldError(
        "partner_slug",
        "only_partner_staff_have_partner",
        "Hanya staf mitra yang terikat pada mitra.",
        "Only partner staff are bound to a partner.",
    )


class BadLogin(_OneReason, Invalid):
    """A login is a phone number or a user name of letters, digits and . _ - @."""

    reason = FieldError(
        "login",
        "login_format",
        "Login harus nomor telepon atau nama pengguna 3-60 karakter (huruf, angka, . _ - @).",
        "A login is a phone number or a user name of 3-60 characters (letters, digits, . _ - @).",
    )


class LoginTaken(_OneReason, Conflict):
    """Logins are unique, whatever their case."""

    reason = FieldError(
        "login", "login_taken", "Login ini sudah dipakai.", "This login is already in use."
    )


class LoginRequired(_OneReason, Invalid):
    """A setup code is for signing in, which needs a login (none was given, and the phone
    number is someone else's login or missing)."""

    reason = FieldError(
        "login",
        "login_required",
        "Pengguna ini belum punya login; kirim 'login' bersama permintaan ini.",
        "This user has no login yet; send 'login' with this request.",
    )


class UserNotFound(_OneReason, NotFound):
    reason = FieldError("id", "not_found", "Pengguna tidak ditemukan.", "User not found.")


class UserDeactivated(_OneReason, Conflict):
    """A deactivated user gets no new setup code."""

    reason = FieldError(
        "id",
        "user_deactivated",
        "Pengguna ini sudah dinonaktifkan.",
        "This user has been deactivated.",
    )


class PasswordIsLogin(_OneReason, Invalid):
    reason = FieldError(
        "password",
        "password_is_login",
        "Kata sandi tidak boleh sama dengan login.",
        "The password must not be the same as the login.",
    )


class SignInRefused(_OneReason, Unauthenticated):
    """The one answer to every failed sign-in or password setup: unknown login, wrong password,
    wrong or expired code, locked or deactivated account. It must not tell them apart."""

    reason = FieldError(
        "credentials",
        "sign_in_refused",
        "Login, kata sandi atau kode tidak cocok, atau akun sedang dikunci. "
        "Coba lagi nanti atau hubungi admin.",
        "The login, password or code does not match, or the account is locked for now. "
        "Try again later or ask the admin.",
    )


class SessionEnded(_OneReason, Unauthenticated):
    """A refresh token that is unknown, revoked, expired or idle for too long."""

    reason = FieldError(
        "refresh_token",
        "session_ended",
        "Sesi sudah berakhir; silakan masuk lagi.",
        "The session has ended; please sign in again.",
    )


class SignInNotConfigured(_OneReason, Unavailable):
    """No JEJARING_IDENTITY_KEY: intake cannot sign access tokens."""

    reason = FieldError(
        "identity",
        "sign_in_not_configured",
        "Fitur masuk (sign-in) belum dikonfigurasi di server: JEJARING_IDENTITY_KEY belum "
        "diatur. Hubungi operator.",
        "sign-in is not configured on this server: JEJARING_IDENTITY_KEY is not set. "
        "Contact the operator.",
    )


# --- merging duplicate cases (merges.py) ----------------------------------------------------


class MergeIntoItself(_OneReason, Invalid):
    reason = FieldError(
        "into",
        "merge_into_itself",
        "Kasus tidak dapat digabungkan ke dirinya sendiri; pilih kasus lain yang dipertahankan.",
        "A case cannot be merged into itself; choose the other case to keep.",
    )


class MergeTargetNotFound(_OneReason, NotFound):
    reason = FieldError(
        "into",
        "not_found",
        "Kasus tujuan tidak ditemukan: periksa nomor kasusnya.",
        "The case to merge into was not found: check its reference.",
    )


class MergeRefused(Conflict):
    """A case, or the case to keep, is in no state to be merged."""

    _REASONS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "case_erased": (
            "erased_at",
            "Data pribadi kasus ini sudah dihapus; kasus tidak dapat digabungkan.",
            "The case's personal data was erased; it cannot be merged.",
        ),
        "case_closed": (
            "status",
            "Kasus ini sudah ditutup atau sudah digabungkan; hanya kasus terbuka yang "
            "dapat digabungkan.",
            "The case is closed or merged already; only an open case can be merged.",
        ),
        "into_erased": (
            "into",
            "Data pribadi kasus tujuan sudah dihapus; pilih kasus lain.",
            "The personal data of the case to keep was erased; choose another case.",
        ),
        "into_closed": (
            "into",
            "Kasus tujuan sudah ditutup atau sudah digabungkan ke kasus lain; gabungkan ke "
            "kasus yang masih terbuka.",
            "The case to keep is closed or was merged into another; merge into an open case.",
        ),
        "into_waits_for_consent": (
            "into",
            "Pengecualian persetujuan kasus tujuan menunggu konfirmasi; konfirmasi dulu, "
            "lalu gabungkan.",
            "The consent override of the case to keep waits for confirmation; confirm it "
            "first, then merge.",
        ),
    }

    def __init__(self, code: str) -> None:
        field, message, message_en = self._REASONS[code]
        super().__init__(FieldError(field, code, message, message_en))
