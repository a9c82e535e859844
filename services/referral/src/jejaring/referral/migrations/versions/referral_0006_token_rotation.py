"""A partner's HTTP token rotates without downtime: the previous token's hash and the end of
its grace are kept beside the current one.

Revision ID: referral_0006
Revises: referral_0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0006"
down_revision: str | Sequence[str] | None = "referral_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("previous_token_hash", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("previous_token_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("previous_token_until")
        batch.drop_column("previous_token_hash")
