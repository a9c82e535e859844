"""The vocabulary of docs/design.md §2: codes in English, labels in Bahasa Indonesia (and English).

Aligned with SIMFONI-PPA (Permen PPPA 2/2022) so that reports can be exported to it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Lang = Literal["id", "en"]


_LABELS: dict[type, dict[str, tuple[str, str]]] = {}


class LabelledEnum(StrEnum):
    """A code with a human label per language; codes go on the wire, labels to people."""

    def label(self, lang: Lang = "id") -> str:
        """The label of this code in `lang` (Bahasa Indonesia by default)."""
        indonesian, english = _LABELS[type(self)][self.value]
        return indonesian if lang == "id" else english


def _labelled(cls: type[LabelledEnum], labels: dict[str, tuple[str, str]]) -> None:
    missing = {m.value for m in cls} ^ set(labels)
    if missing:  # pragma: no cover - caught at import by any test
        raise RuntimeError(f"{cls.__name__}: labels do not match codes: {sorted(missing)}")
    _LABELS[cls] = labels


class ViolenceForm(LabelledEnum):
    PHYSICAL = "physical"
    PSYCHOLOGICAL = "psychological"
    SEXUAL = "sexual"
    EXPLOITATION = "exploitation"
    TRAFFICKING = "trafficking"
    NEGLECT = "neglect"
    OTHER = "other"


_labelled(
    ViolenceForm,
    {
        "physical": ("Fisik", "Physical"),
        "psychological": ("Psikis", "Psychological"),
        "sexual": ("Seksual", "Sexual"),
        "exploitation": ("Eksploitasi", "Exploitation"),
        "trafficking": ("Perdagangan Orang", "Trafficking"),
        "neglect": ("Penelantaran", "Neglect"),
        "other": ("Lainnya", "Other"),
    },
)


class Place(LabelledEnum):
    HOUSEHOLD = "household"
    WORKPLACE = "workplace"
    SCHOOL = "school"
    EDUCATION_INSTITUTION = "education_institution"
    PUBLIC_FACILITY = "public_facility"
    OTHER = "other"


_labelled(
    Place,
    {
        "household": ("Rumah Tangga", "Household"),
        "workplace": ("Tempat Kerja", "Workplace"),
        "school": ("Sekolah", "School"),
        "education_institution": ("Lembaga Pendidikan", "Educational institution"),
        "public_facility": ("Fasilitas Umum", "Public facility"),
        "other": ("Lainnya", "Other"),
    },
)


class PerpetratorRelationship(LabelledEnum):
    PARENT = "parent"
    RELATIVE = "relative"
    SPOUSE = "spouse"
    PARTNER_FRIEND = "partner_friend"
    TEACHER = "teacher"
    EMPLOYER = "employer"
    COWORKER = "coworker"
    NEIGHBOUR = "neighbour"
    OTHER = "other"
    UNKNOWN = "unknown"


_labelled(
    PerpetratorRelationship,
    {
        "parent": ("Orang Tua", "Parent"),
        "relative": ("Keluarga/Saudara", "Relative"),
        "spouse": ("Suami/Istri", "Spouse"),
        "partner_friend": ("Pacar/Teman", "Partner or friend"),
        "teacher": ("Guru", "Teacher"),
        "employer": ("Majikan", "Employer"),
        "coworker": ("Rekan Kerja", "Co-worker"),
        "neighbour": ("Tetangga", "Neighbour"),
        "other": ("Lainnya", "Other"),
        "unknown": ("Tidak Diketahui", "Unknown"),
    },
)


class AgeGroup(LabelledEnum):
    A0_5 = "0-5"
    A6_12 = "6-12"
    A13_17 = "13-17"
    A18_24 = "18-24"
    A25_44 = "25-44"
    A45_59 = "45-59"
    A60_PLUS = "60+"

    @classmethod
    def of_age(cls, years: int) -> AgeGroup:
        """The SIMFONI-PPA age group of someone `years` old."""
        if years < 0:
            raise ValueError("age cannot be negative")
        for upper, group in _AGE_BOUNDS:
            if years <= upper:
                return group
        return cls.A60_PLUS

    @property
    def is_child(self) -> bool:
        """Under 18 (UU 35/2014 on child protection)."""
        return self in (AgeGroup.A0_5, AgeGroup.A6_12, AgeGroup.A13_17)


_AGE_BOUNDS: list[tuple[int, AgeGroup]] = [
    (5, AgeGroup.A0_5),
    (12, AgeGroup.A6_12),
    (17, AgeGroup.A13_17),
    (24, AgeGroup.A18_24),
    (44, AgeGroup.A25_44),
    (59, AgeGroup.A45_59),
]

_labelled(
    AgeGroup,
    {
        "0-5": ("0-5 tahun", "0-5 years"),
        "6-12": ("6-12 tahun", "6-12 years"),
        "13-17": ("13-17 tahun", "13-17 years"),
        "18-24": ("18-24 tahun", "18-24 years"),
        "25-44": ("25-44 tahun", "25-44 years"),
        "45-59": ("45-59 tahun", "45-59 years"),
        "60+": ("60 tahun ke atas", "60 years and over"),
    },
)


class RiskLevel(LabelledEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


_labelled(
    RiskLevel,
    {"high": ("Tinggi", "High"), "medium": ("Sedang", "Medium"), "low": ("Rendah", "Low")},
)


class Service(LabelledEnum):
    LAW_ENFORCEMENT = "law_enforcement"
    PROTECTION = "protection"
    SECURITY_ESCORT = "security_escort"
    LEGAL_AID = "legal_aid"
    COUNSELLING = "counselling"
    MEDIATION = "mediation"
    HEALTH = "health"
    SHELTER = "shelter"
    SOCIAL_REHABILITATION = "social_rehabilitation"
    ACCOMPANIMENT = "accompaniment"


_labelled(
    Service,
    {
        "law_enforcement": ("Laporan Polisi", "Police report"),
        "protection": ("Perlindungan Kepolisian", "Police protection"),
        "security_escort": ("Pengamanan Babinsa", "Security escort (Babinsa)"),
        "legal_aid": ("Bantuan Hukum", "Legal aid"),
        "counselling": ("Konseling", "Counselling"),
        "mediation": ("Mediasi", "Mediation"),
        "health": ("Layanan Kesehatan", "Health care"),
        "shelter": ("Rumah Aman", "Shelter"),
        "social_rehabilitation": ("Rehabilitasi Sosial", "Social rehabilitation"),
        "accompaniment": ("Pendampingan", "Accompaniment"),
    },
)


class ProofOfInability(LabelledEnum):
    SKTM = "sktm"
    PKH = "pkh"
    OTHER_CARD = "other_card"
    STATEMENT = "statement"


_labelled(
    ProofOfInability,
    {
        "sktm": ("Surat Keterangan Tidak Mampu (SKTM)", "Certificate of inability to pay (SKTM)"),
        "pkh": ("Kartu PKH", "PKH card"),
        "other_card": ("Kartu lain (KIS, KKS, …)", "Other card (KIS, KKS, …)"),
        "statement": ("Surat pernyataan tidak mampu", "Signed statement of inability to pay"),
    },
)


class PartnerKind(LabelledEnum):
    POLICE = "police"
    TNI = "tni"
    LEGAL_AID = "legal_aid"
    COUNSELLING = "counselling"
    HEALTH = "health"
    SHELTER = "shelter"
    SOCIAL_SERVICE = "social_service"
    GOVERNMENT = "government"


_labelled(
    PartnerKind,
    {
        "police": ("Kepolisian", "Police"),
        "tni": ("TNI", "Armed forces liaison"),
        "legal_aid": ("Bantuan Hukum", "Legal aid"),
        "counselling": ("Konseling", "Counselling"),
        "health": ("Kesehatan", "Health"),
        "shelter": ("Rumah Aman", "Shelter"),
        "social_service": ("Layanan Sosial", "Social service"),
        "government": ("Pemerintah", "Government"),
    },
)


class ReferralStatus(LabelledEnum):
    """HL7 FHIR Task status, as used by the SDOH Clinical Care referral workflow."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


_labelled(
    ReferralStatus,
    {
        "requested": ("Diminta", "Requested"),
        "accepted": ("Diterima", "Accepted"),
        "rejected": ("Ditolak", "Rejected"),
        "in-progress": ("Sedang Ditangani", "In progress"),
        "on-hold": ("Ditunda", "On hold"),
        "completed": ("Selesai", "Completed"),
        "failed": ("Gagal", "Failed"),
        "cancelled": ("Dibatalkan", "Cancelled"),
    },
)


class BusinessStatus(LabelledEnum):
    """Finer states beside the FHIR status (never new status codes)."""

    ELIGIBILITY_PENDING = "eligibility-pending"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


_labelled(
    BusinessStatus,
    {
        "eligibility-pending": ("Menunggu bukti tidak mampu", "Eligibility pending"),
        "overdue": ("Melewati batas waktu", "Overdue"),
        "escalated": ("Dieskalasi", "Escalated"),
    },
)


class Priority(LabelledEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


_labelled(Priority, {"routine": ("Biasa", "Routine"), "urgent": ("Segera", "Urgent")})


class Sex(LabelledEnum):
    FEMALE = "female"
    MALE = "male"


_labelled(Sex, {"female": ("Perempuan", "Female"), "male": ("Laki-laki", "Male")})


class ConsentGiver(LabelledEnum):
    VICTIM = "victim"
    GUARDIAN = "guardian"
    OVERRIDE = "override"


_labelled(
    ConsentGiver,
    {
        "victim": ("Korban", "Victim"),
        "guardian": ("Wali/Orang Tua", "Guardian"),
        "override": ("Pengecualian tercatat", "Recorded override"),
    },
)


class CaseOutcome(LabelledEnum):
    RESOLVED = "resolved"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    WITHDRAWN = "withdrawn"
    UNREACHABLE = "unreachable"
    DUPLICATE = "duplicate"


_labelled(
    CaseOutcome,
    {
        "resolved": ("Tertangani", "Resolved"),
        "referred_elsewhere": ("Dirujuk ke tempat lain", "Referred elsewhere"),
        "withdrawn": ("Dicabut oleh pelapor/korban", "Withdrawn"),
        "unreachable": ("Korban tidak dapat dihubungi", "Victim unreachable"),
        "duplicate": ("Kasus ganda", "Duplicate case"),
    },
)


class AnswerReason(LabelledEnum):
    """Why a partner declined a referral, or why its help failed or was cancelled: a code the
    reports can count (the free-text `reason` beside it stays for people)."""

    NO_CAPACITY = "no_capacity"
    OUTSIDE_MANDATE = "outside_mandate"
    OUTSIDE_AREA = "outside_area"
    ELIGIBILITY_MISSING = "eligibility_missing"
    VICTIM_DECLINED = "victim_declined"
    VICTIM_UNREACHABLE = "victim_unreachable"
    HANDLED_ELSEWHERE = "handled_elsewhere"
    OTHER = "other"


_labelled(
    AnswerReason,
    {
        "no_capacity": ("Kapasitas penuh", "No capacity"),
        "outside_mandate": ("Di luar kewenangan/layanan kami", "Outside our mandate or services"),
        "outside_area": ("Di luar wilayah layanan", "Outside our service area"),
        "eligibility_missing": ("Syarat belum lengkap", "Eligibility not shown"),
        "victim_declined": ("Korban menolak layanan", "The victim declined"),
        "victim_unreachable": ("Korban tidak dapat dihubungi", "The victim cannot be reached"),
        "handled_elsewhere": ("Sudah ditangani pihak lain", "Already handled elsewhere"),
        "other": ("Lainnya", "Other"),
    },
)
