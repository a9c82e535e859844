"""Crypto-shredding: the keyring (a wrapped data key per case) and a case's sealed personal
fields, with when and why they were erased. Cases recorded before are sealed at intake's
start (sealing.seal_legacy), which needs the master keys a migration does not have.

Revision ID: intake_0009
Revises: intake_0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0009"
down_revision: str | Sequence[str] | None = "intake_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_data_key_key_id", "data_key", ["key_id"])
    op.add_column("case_record", sa.Column("sealed", sa.Text(), nullable=True))
    op.add_column("case_record", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("case_record", sa.Column("erased_why", sa.String(10), nullable=True))
    op.add_column("case_record", sa.Column("erasure_reason", sa.String(30), nullable=True))


def downgrade() -> None:
    for column in ("erasure_reason", "erased_why", "erased_at", "sealed"):
        op.drop_column("case_record", column)
    op.drop_index("ix_data_key_key_id", table_name="data_key")
    op.drop_table("data_key")
