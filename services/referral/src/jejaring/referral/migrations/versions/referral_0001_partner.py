"""Partner registry.

Revision ID: referral_0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("referral",)
depends_on: str | Sequence[str] | None = "plumbing_0001"


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("slug", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("kelurahan", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("partner")
