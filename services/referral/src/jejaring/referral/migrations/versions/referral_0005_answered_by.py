"""Who at the partner gave a referral's latest answer (a partner staff person's name, or what
a partner's system sent as `by`); empty for answers that did not say.

Revision ID: referral_0005
Revises: referral_0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0005"
down_revision: str | Sequence[str] | None = "referral_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("answered_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("answered_by")
