"""A case remembers the Idempotency-Key of the POST that created it.

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0003"
down_revision: str | Sequence[str] | None = "intake_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("case_record", sa.Column("idempotency_key", sa.String(64), nullable=True))
    op.add_column("case_record", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index(
        "uq_case_record_idempotency",
        "case_record",
        ["created_by", "idempotency_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_case_record_idempotency", table_name="case_record")
    op.drop_column("case_record", "request_hash")
    op.drop_column("case_record", "idempotency_key")
