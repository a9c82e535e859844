"""Answer reason codes (issue 17): the code a partner gave with its latest answer, which the
reports count (the free-text reason stays beside it).

Revision ID: referral_0011
Revises: referral_0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0011"
down_revision: str | Sequence[str] | None = "referral_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("referral", sa.Column("reason_code", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("reason_code")
