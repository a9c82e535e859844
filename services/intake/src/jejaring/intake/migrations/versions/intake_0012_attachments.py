"""Case work: attachments (issue 20).

Revision ID: intake_0012
Revises: intake_0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0012"
down_revision: str | Sequence[str] | None = "intake_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_name", sa.String(64), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_case_attachment_case_id", "case_attachment", ["case_id"])
    op.create_index(
        "uq_case_attachment_storage_name", "case_attachment", ["storage_name"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_case_attachment_storage_name", table_name="case_attachment")
    op.drop_index("ix_case_attachment_case_id", table_name="case_attachment")
    op.drop_table("case_attachment")
