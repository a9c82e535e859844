"""The audit trail: one hash-chained record per access or action, and the chain's head.

Revision ID: intake_0008
Revises: intake_0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0008"
down_revision: str | Sequence[str] | None = "intake_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("case_reference", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_record_user_id", "audit_record", ["user_id"])
    op.create_index("ix_audit_record_case_reference", "audit_record", ["case_reference"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_record_case_reference", table_name="audit_record")
    op.drop_index("ix_audit_record_user_id", table_name="audit_record")
    op.drop_table("audit_record")
