"""The message id of each referral's latest request on its partner's stream.

Revision ID: referral_0004
Revises: referral_0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0004"
down_revision: str | Sequence[str] | None = "referral_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("request_msg_id", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("request_msg_id")
