"""Case work: activities and mediation sessions (issue 20).

Revision ID: intake_0011
Revises: intake_0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0011"
down_revision: str | Sequence[str] | None = "intake_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_activity",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("place", sa.String(12), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(14), nullable=True),
        sa.Column("follow_up_due", sa.Date(), nullable=True),
        sa.Column("follow_up_task_id", sa.Uuid(), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_activity_case_id", "case_activity", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_activity_case_id", table_name="case_activity")
    op.drop_table("case_activity")
