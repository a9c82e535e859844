"""The read model: cases, victims, referrals and unmet needs as codes, dates and counts.

Revision ID: report_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "report_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("report",)
depends_on: str | Sequence[str] | None = "plumbing_0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_case",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("kelurahan_code", sa.String(13), nullable=False),
        sa.Column("reported_at", TS, nullable=False, index=True),
        sa.Column("incident_date", sa.Date(), nullable=True),
        sa.Column("place", sa.String(40), nullable=False),
        sa.Column("risk_level", sa.String(10), nullable=False),
        sa.Column("violence_forms", sa.JSON(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("perpetrator_relationship", sa.String(40), nullable=True),
        sa.Column("perpetrator_sex", sa.String(10), nullable=True),
        sa.Column("perpetrator_is_child", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("closed_at", TS, nullable=True, index=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("merged_into", sa.Uuid(), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "report_victim",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("sex", sa.String(10), nullable=False),
        sa.Column("age_group", sa.String(10), nullable=False),
        sa.Column("is_child", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "report_referral",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("partner_slug", sa.String(40), nullable=False),
        sa.Column("partner_name", sa.String(200), nullable=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("kelurahan_code", sa.String(13), nullable=False),
        sa.Column("requested_at", TS, nullable=True),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("rejected_at", TS, nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("overdue_at", TS, nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("failed_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Index("ix_report_referral_requested_at", "requested_at"),
    )
    op.create_table(
        "report_unmet_need",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("kelurahan_code", sa.String(13), nullable=False),
        sa.Column("occurred_at", TS, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("report_unmet_need", "report_referral", "report_victim", "report_case"):
        op.drop_table(table)
