"""Each referral's history: a step per referral event intake consumes (status changes, overdue,
escalated), so the case page shows the referral as a timeline; and each referral's partner
kind, so the case page says which referrals a narrower consent cancels.

Revision ID: intake_0005
Revises: intake_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0005"
down_revision: str | Sequence[str] | None = "intake_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("referral_view", sa.Column("partner_kind", sa.String(20), nullable=True))
    # The primary key is the unique (referral, sequence, kind): a redelivered event adds nothing.
    op.create_table(
        "referral_step",
        sa.Column("referral_id", sa.Uuid(), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("business_status", sa.JSON(), nullable=False),
        sa.Column("answered_by", sa.String(300), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referral_step_case_id", "referral_step", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_referral_step_case_id", table_name="referral_step")
    op.drop_table("referral_step")
    op.drop_column("referral_view", "partner_kind")
