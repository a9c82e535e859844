"""The case-level export for SIMFONI-PPA: one row per victim, no name, the fields of SIMFONI-PPA's
case form that Jejaring records, with SIMFONI-PPA's category labels (Bahasa Indonesia), for the
operator who types or uploads them into SIMFONI-PPA.

SIMFONI-PPA's official numeric codes were not found in any public source we could read, so the
values are its category labels, not codes; Jejaring's contract labels are already those
categories (jenis kekerasan, tempat kejadian, hubungan pelaku dengan korban). Jejaring's
services are mapped onto SIMFONI-PPA's service categories ("layanan yang dibutuhkan /
diberikan") below; docs/decisions.md says where that mapping is a judgement.
"""

from __future__ import annotations

import csv
import io

from jejaring.report.model import SimfoniRow
from jejaring.shared.contract.enums import (
    AgeGroup,
    CaseOutcome,
    LabelledEnum,
    PerpetratorRelationship,
    Place,
    Service,
    Sex,
    ViolenceForm,
)

# Jejaring's service -> SIMFONI-PPA's service category.
SERVICE_CATEGORY = {
    Service.LAW_ENFORCEMENT: "Penegakan Hukum",
    Service.PROTECTION: "Penegakan Hukum",
    Service.SECURITY_ESCORT: "Penegakan Hukum",
    Service.LEGAL_AID: "Bantuan Hukum",
    Service.COUNSELLING: "Rehabilitasi Sosial",
    Service.MEDIATION: "Bantuan Hukum",
    Service.HEALTH: "Kesehatan",
    Service.SHELTER: "Rehabilitasi Sosial",
    Service.SOCIAL_REHABILITATION: "Rehabilitasi Sosial",
    Service.ACCOMPANIMENT: "Pendampingan",
}

HEADER = (
    "No. Registrasi Kasus",
    "Korban ke-",
    "Tanggal Pelaporan",
    "Tanggal Kejadian",
    "Kode Kelurahan",
    "Kelurahan",
    "Tempat Kejadian",
    "Jenis Kekerasan",
    "Jenis Kelamin Korban",
    "Kelompok Umur Korban",
    "Korban Anak (<18 tahun)",
    "Hubungan Pelaku dengan Korban",
    "Jenis Kelamin Pelaku",
    "Pelaku Anak (<18 tahun)",
    "Layanan yang Dibutuhkan",
    "Layanan yang Diberikan (Rujukan)",
    "Status Kasus",
)


def _label(kind: type[LabelledEnum], code: str | None) -> str:
    return "" if code is None else kind(code).label("id")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Ya" if value else "Tidak")


def _services(codes: tuple[str, ...]) -> str:
    categories = dict.fromkeys(SERVICE_CATEGORY[Service(code)] for code in codes)
    return "; ".join(categories)


def line(row: SimfoniRow) -> tuple[str | int, ...]:
    return (
        row.case_reference,
        row.victim_number,
        row.reported_on.isoformat(),
        row.incident_date.isoformat() if row.incident_date else "",
        row.kelurahan_code,
        row.kelurahan_name,
        _label(Place, row.place),
        "; ".join(_label(ViolenceForm, form) for form in row.violence_forms),
        _label(Sex, row.victim_sex),
        _label(AgeGroup, row.victim_age_group),
        _yes_no(row.victim_is_child),
        _label(PerpetratorRelationship, row.perpetrator_relationship),
        _label(Sex, row.perpetrator_sex),
        _yes_no(row.perpetrator_is_child),
        _services(row.services_needed),
        _services(row.services_referred),
        _label(CaseOutcome, row.outcome) if row.outcome else "Dalam proses",
    )


def to_csv(rows: list[SimfoniRow]) -> bytes:
    """UTF-8 with a BOM, ";" separated (as the report's CSV: exports.py)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(line(row) for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[SimfoniRow]) -> bytes:
    from openpyxl import Workbook  # when asked for (exports.py, LAZY)

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "SIMFONI-PPA"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(line(row))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
