"""Case work: the possible-duplicates index and merges (issue 20).

Revision ID: intake_0013
Revises: intake_0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0013"
down_revision: str | Sequence[str] | None = "intake_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duplicate_index",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_duplicate_index_key_id", "duplicate_index", ["key_id"])
    op.create_table(
        "victim_fingerprint",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.Uuid(), primary_key=True),
    )
    op.create_index("ix_victim_fingerprint_case_id", "victim_fingerprint", ["case_id"])
    op.create_table(
        "case_link",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("other_case_id", sa.Uuid(), primary_key=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_link_other_case_id", "case_link", ["other_case_id"])
    op.create_table(
        "case_merge",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("into_case_id", sa.Uuid(), nullable=False),
        sa.Column("merged_by", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_merge_into_case_id", "case_merge", ["into_case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_merge_into_case_id", table_name="case_merge")
    op.drop_table("case_merge")
    op.drop_index("ix_case_link_other_case_id", table_name="case_link")
    op.drop_table("case_link")
    op.drop_index("ix_victim_fingerprint_case_id", table_name="victim_fingerprint")
    op.drop_table("victim_fingerprint")
    op.drop_index("ix_duplicate_index_key_id", table_name="duplicate_index")
    op.drop_table("duplicate_index")
