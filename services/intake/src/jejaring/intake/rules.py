"""The rules intake enforces at the door (docs/design.md §2), each with a bilingual reason.

Intake owns R1 (no mediation for sexual violence) and R5 (a child's data needs a guardian's
consent): a case that breaks them is never recorded, so no other service sees one.

The rules take plain facts (the dataclasses below, enums, dates), never an HTTP body, and
answer with FieldErrors; the service layer raises them as one `Invalid`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jejaring.shared.contract.enums import (
    AgeGroup,
    ConsentGiver,
    RiskLevel,
    Service,
    ViolenceForm,
)
from jejaring.shared.refusals import FieldError
from jejaring.shared.region import Region

CLOCK_SKEW = dt.timedelta(minutes=5)
OLDEST = 120  # years: an older victim is a typing mistake


def local_zone(region: Region) -> ZoneInfo:
    return ZoneInfo(region.timezone)


def as_utc(value: dt.datetime, region: Region) -> dt.datetime:
    """An aware UTC time; a time without offset is read in the region's zone (WITA)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone(region))
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class Victim:
    """What the rules need of a victim: a date of birth, or the age they gave, or neither."""

    birth_date: dt.date | None = None
    age: int | None = None


@dataclass(frozen=True)
class Consent:
    """Who consented to sharing the case, and why a guardian did not (an override)."""

    given_by: ConsentGiver
    override_reason: str | None = None


@dataclass(frozen=True)
class Age:
    years: int
    group: AgeGroup

    @property
    def is_child(self) -> bool:
        return self.group.is_child


def age_at(victim: Victim, on: dt.date) -> Age | None:
    """The victim's age on `on`, from the date of birth or the stated age; None if unknown or
    impossible (born after `on`, older than OLDEST)."""
    if victim.birth_date is not None:
        b = victim.birth_date
        years = on.year - b.year - ((on.month, on.day) < (b.month, b.day))
    elif victim.age is not None:
        years = victim.age
    else:
        return None
    if years < 0 or years > OLDEST:
        return None
    return Age(years, AgeGroup.of_age(years))


@dataclass(frozen=True)
class CaseCheck:
    """The verdict on a new case: every broken rule (`errors`, in the order of the form) and,
    when its dates are sound, each victim's age on the day of the report (`ages`)."""

    errors: list[FieldError]
    ages: list[Age]


def check_case(
    *,
    kelurahan_code: str,
    reported_at: dt.datetime,
    incident_date: dt.date | None,
    victims: Sequence[Victim],
    violence_forms: Collection[ViolenceForm],
    needs: Collection[Service],
    perpetrator_is_child: bool,
    consent: Consent,
    region: Region,
    now: dt.datetime,
) -> CaseCheck:
    """Every rule a new case must meet, in one pass: the kelurahan, the dates and the victims'
    ages; then, on a case whose ages are known, R1 and R5 (`check_protections`). Ages are taken
    on the day of the report in the region's zone (WITA), not in UTC.

    `reported_at` is aware (see `as_utc`); `now` is the server's time.
    """
    report_day = reported_at.astimezone(local_zone(region)).date()
    errors = [
        *check_kelurahan(kelurahan_code, region),
        *_check_report(reported_at, incident_date, report_day=report_day, now=now),
    ]
    ages: list[Age] = []
    for i, victim in enumerate(victims):
        age = _victim_age(victim, report_day, field=f"victims.{i}.birth_date")
        if isinstance(age, Age):
            ages.append(age)
        else:
            errors.append(age)
    if errors:
        return CaseCheck(errors, ages=[])
    protections = check_protections(
        violence_forms=violence_forms,
        needs=needs,
        perpetrator_is_child=perpetrator_is_child,
        consent=consent,
        any_child=any(age.is_child for age in ages),
    )
    return CaseCheck(protections, ages)


def check_kelurahan(code: str, region: Region) -> list[FieldError]:
    """The kelurahan is one of the region's (its Kemendagri code)."""
    if region.kelurahan_by_code(code) is not None:
        return []
    known = ", ".join(f"{k.code} {k.name}" for k in region.kelurahan)
    return [
        FieldError(
            "kelurahan_code",
            "unknown_kelurahan",
            f"Kode kelurahan tidak dikenal di Kecamatan {region.kecamatan.name}. Pilihan: {known}.",
            f"Unknown kelurahan code for Kecamatan {region.kecamatan.name}. Choose from: {known}.",
        )
    ]


def _check_report(
    reported_at: dt.datetime,
    incident_date: dt.date | None,
    *,
    report_day: dt.date,
    now: dt.datetime,
) -> list[FieldError]:
    """The report is not in the future (beyond CLOCK_SKEW of the server's clock), and the
    incident not after the day of the report."""
    errors: list[FieldError] = []
    if reported_at > now + CLOCK_SKEW:
        errors.append(
            FieldError(
                "reported_at",
                "date_in_future",
                "Waktu laporan tidak boleh di masa depan.",
                "The report time cannot be in the future.",
            )
        )
    if incident_date is not None and incident_date > report_day:
        errors.append(
            FieldError(
                "incident_date",
                "incident_after_report",
                "Tanggal kejadian tidak boleh sesudah tanggal laporan atau di masa depan.",
                "The incident date cannot be after the report date or in the future.",
            )
        )
    return errors


def _victim_age(victim: Victim, report_day: dt.date, *, field: str) -> Age | FieldError:
    """The victim's age on the day of the report, or why it cannot be known."""
    if victim.birth_date is None and victim.age is None:
        return FieldError(
            field,
            "age_missing",
            "Isi tanggal lahir atau usia korban (untuk menentukan apakah korban anak).",
            "Give the victim's date of birth or age (to know whether a child is involved).",
        )
    if victim.birth_date is not None and victim.birth_date > report_day:
        return FieldError(
            field,
            "birth_after_report",
            "Tanggal lahir tidak boleh sesudah tanggal laporan.",
            "The date of birth cannot be after the report date.",
        )
    age = age_at(victim, report_day)
    if age is None:
        return FieldError(
            field,
            "impossible_age",
            "Usia korban tidak mungkin (lebih dari 120 tahun).",
            "The victim's age is impossible (over 120 years).",
        )
    return age


def check_protections(
    *,
    violence_forms: Collection[ViolenceForm],
    needs: Collection[Service],
    perpetrator_is_child: bool,
    consent: Consent,
    any_child: bool,
    needs_field: str = "needs",
) -> list[FieldError]:
    """R1 and R5: they hold as long as a case is open, so every change is checked again
    (`needs_field`: where the needs came from, `needs` or a PATCH's `add_needs`)."""
    return [
        *check_no_mediation_for_sexual_violence(
            violence_forms=violence_forms,
            needs=needs,
            perpetrator_is_child=perpetrator_is_child,
            field=needs_field,
        ),
        *check_child_consent(consent=consent, any_child=any_child),
    ]


def check_no_mediation_for_sexual_violence(
    *,
    violence_forms: Collection[ViolenceForm],
    needs: Collection[Service],
    perpetrator_is_child: bool,
    field: str = "needs",
) -> list[FieldError]:
    """R1 — UU 12/2022 (TPKS) Pasal 23: sexual violence may not be settled out of court,
    unless the perpetrator is a child. Counselling stays allowed."""
    if ViolenceForm.SEXUAL not in violence_forms or Service.MEDIATION not in needs:
        return []
    if perpetrator_is_child:
        return []
    return [
        FieldError(
            field,
            "r1_no_mediation_sexual_violence",
            "Mediasi tidak boleh untuk kasus kekerasan seksual (UU 12/2022 TPKS Pasal 23), kecuali "
            "pelakunya anak. Konseling tetap boleh.",
            "Mediation is not allowed for sexual violence (Law 12/2022 on sexual violence, "
            "Art. 23) unless the perpetrator is a child. Counselling remains allowed.",
        )
    ]


def check_mediation_session(
    *,
    violence_forms: Collection[ViolenceForm],
    perpetrator_is_child: bool,
    risk_level: RiskLevel,
    field: str = "kind",
) -> list[FieldError]:
    """Whether a mediation session may be held on the case: R1 (as for a need of mediation),
    and never while the risk is high (a victim in danger is protected, not mediated)."""
    errors = check_no_mediation_for_sexual_violence(
        violence_forms=violence_forms,
        needs=[Service.MEDIATION],
        perpetrator_is_child=perpetrator_is_child,
        field=field,
    )
    if risk_level == RiskLevel.HIGH:
        errors.append(
            FieldError(
                field,
                "no_mediation_high_risk",
                "Mediasi tidak boleh selama risiko kasus tinggi: lindungi korban lebih dulu.",
                "Mediation is not allowed while the case's risk is high: protect the victim first.",
            )
        )
    return errors


def check_child_consent(*, consent: Consent, any_child: bool) -> list[FieldError]:
    """R5 — UU 27/2022 (PDP) Pasal 25: a child's data needs a guardian's consent, unless the
    guardian is the alleged perpetrator or the child is in danger (a recorded override, which
    only a child's case may have: an adult consents for themselves)."""
    if consent.given_by == ConsentGiver.OVERRIDE and consent.override_reason is None:
        return [
            FieldError(
                "consent.override_reason",
                "r5_override_reason_missing",
                "Pengecualian persetujuan harus mencatat alasannya: wali adalah terduga pelaku "
                "(guardian_is_alleged_perpetrator) atau anak dalam bahaya (child_in_danger).",
                "A consent override must record its reason: guardian_is_alleged_perpetrator or "
                "child_in_danger.",
            )
        ]
    if consent.given_by == ConsentGiver.OVERRIDE and not any_child:
        return [
            FieldError(
                "consent.given_by",
                "r5_override_only_for_child",
                "Pengecualian persetujuan hanya untuk korban anak (UU 27/2022 PDP Pasal 25); "
                "korban dewasa memberi persetujuannya sendiri.",
                "A consent override is only for a child victim (Law 27/2022 on personal data, "
                "Art. 25); an adult victim gives their own consent.",
            )
        ]
    if any_child and consent.given_by == ConsentGiver.VICTIM:
        return [
            FieldError(
                "consent.given_by",
                "r5_child_needs_guardian_consent",
                "Korban anak memerlukan persetujuan wali (UU 27/2022 PDP Pasal 25), atau "
                "pengecualian tercatat bila wali adalah terduga pelaku atau anak dalam bahaya.",
                "A child victim needs a guardian's consent (Law 27/2022 on personal data, "
                "Art. 25), or a recorded override when the guardian is the alleged perpetrator "
                "or the child is in danger.",
            )
        ]
    return []


def is_sensitive(*, violence_forms: Collection[ViolenceForm], any_child: bool) -> bool:
    """A case of sexual violence (UU 12/2022 TPKS) or with a child victim (UU 11/2012 SPPA,
    UU 27/2022 PDP: a child's data is specific personal data) is sensitive by default."""
    return ViolenceForm.SEXUAL in violence_forms or any_child
