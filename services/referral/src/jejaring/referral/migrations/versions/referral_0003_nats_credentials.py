"""Partners' NATS credentials (bcrypt hash only).

Revision ID: referral_0003
Revises: referral_0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0003"
down_revision: str | Sequence[str] | None = "referral_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("nats_password_hash", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("nats_password_hash")
