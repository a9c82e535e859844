"""The rules intake enforces at the door (DESIGN §2), each with a bilingual reason.

Intake owns R1 (no mediation for sexual violence) and R5 (a child's data needs a guardian's
consent): a case that breaks them is never recorded, so no other service sees one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jejaring.intake.schemas import ConsentIn, PerpetratorIn, VictimIn
from jejaring.shared.enums import AgeGroup, ConsentGiver, Service, ViolenceForm
from jejaring.shared.errors import FieldError
from jejaring.shared.region import Region

CLOCK_SKEW = dt.timedelta(minutes=5)


def local_zone(region: Region) -> ZoneInfo:
    return ZoneInfo(region.timezone)


def as_utc(value: dt.datetime, region: Region) -> dt.datetime:
    """An aware UTC time; a time without offset is read in the region's zone (WITA)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone(region))
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class Age:
    years: int
    group: AgeGroup

    @property
    def is_child(self) -> bool:
        return self.group.is_child


def age_at(victim: VictimIn, on: dt.date) -> Age | None:
    """The victim's age on `on`, from the date of birth or the stated age."""
    if victim.birth_date is not None:
        b = victim.birth_date
        years = on.year - b.year - ((on.month, on.day) < (b.month, b.day))
    elif victim.age is not None:
        years = victim.age
    else:
        return None
    if years < 0 or years > 120:
        return None
    return Age(years, AgeGroup.of_age(years))


def check_kelurahan(code: str, region: Region) -> list[FieldError]:
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


def check_dates(
    *,
    reported_at: dt.datetime,
    incident_date: dt.date | None,
    victims: list[VictimIn],
    region: Region,
    now: dt.datetime,
) -> list[FieldError]:
    """Report not in the future; incident not after the report; births before the report."""
    errors: list[FieldError] = []
    zone = local_zone(region)
    if reported_at > now + CLOCK_SKEW:
        errors.append(
            FieldError(
                "reported_at",
                "date_in_future",
                "Waktu laporan tidak boleh di masa depan.",
                "The report time cannot be in the future.",
            )
        )
    report_day = reported_at.astimezone(zone).date()
    if incident_date is not None and incident_date > report_day:
        errors.append(
            FieldError(
                "incident_date",
                "incident_after_report",
                "Tanggal kejadian tidak boleh sesudah tanggal laporan atau di masa depan.",
                "The incident date cannot be after the report date or in the future.",
            )
        )
    for i, victim in enumerate(victims):
        field = f"victims.{i}"
        if victim.birth_date is None and victim.age is None:
            errors.append(
                FieldError(
                    f"{field}.birth_date",
                    "age_missing",
                    "Isi tanggal lahir atau usia korban (untuk menentukan apakah korban anak).",
                    "Give the victim's date of birth or age (to know whether a child is involved).",
                )
            )
        elif victim.birth_date is not None and victim.birth_date > report_day:
            errors.append(
                FieldError(
                    f"{field}.birth_date",
                    "birth_after_report",
                    "Tanggal lahir tidak boleh sesudah tanggal laporan.",
                    "The date of birth cannot be after the report date.",
                )
            )
        elif age_at(victim, report_day) is None:
            errors.append(
                FieldError(
                    f"{field}.birth_date",
                    "impossible_age",
                    "Usia korban tidak mungkin (lebih dari 120 tahun).",
                    "The victim's age is impossible (over 120 years).",
                )
            )
    return errors


def check_no_mediation_for_sexual_violence(
    *,
    violence_forms: list[ViolenceForm],
    needs: list[Service],
    perpetrator: PerpetratorIn | None,
    field: str = "needs",
) -> list[FieldError]:
    """R1 — UU 12/2022 (TPKS) Pasal 23: sexual violence may not be settled out of court,
    unless the perpetrator is a child. Counselling stays allowed."""
    if ViolenceForm.SEXUAL not in violence_forms or Service.MEDIATION not in needs:
        return []
    if perpetrator is not None and perpetrator.is_child:
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


def check_child_consent(
    *, consent: ConsentIn, any_child: bool, field: str = "consent"
) -> list[FieldError]:
    """R5 — UU 27/2022 (PDP) Pasal 25: a child's data needs a guardian's consent, unless the
    guardian is the alleged perpetrator or the child is in danger (a recorded override)."""
    if consent.given_by == ConsentGiver.OVERRIDE and consent.override_reason is None:
        return [
            FieldError(
                f"{field}.override_reason",
                "r5_override_reason_missing",
                "Pengecualian persetujuan harus mencatat alasannya: wali adalah terduga pelaku "
                "(guardian_is_alleged_perpetrator) atau anak dalam bahaya (child_in_danger).",
                "A consent override must record its reason: guardian_is_alleged_perpetrator or "
                "child_in_danger.",
            )
        ]
    if any_child and consent.given_by == ConsentGiver.VICTIM:
        return [
            FieldError(
                f"{field}.given_by",
                "r5_child_needs_guardian_consent",
                "Korban anak memerlukan persetujuan wali (UU 27/2022 PDP Pasal 25), atau "
                "pengecualian tercatat bila wali adalah terduga pelaku atau anak dalam bahaya.",
                "A child victim needs a guardian's consent (Law 27/2022 on personal data, "
                "Art. 25), or a recorded override when the guardian is the alleged perpetrator "
                "or the child is in danger.",
            )
        ]
    return []
