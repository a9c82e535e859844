"""The kelurahan of each delivery's case (from the event), so that an officer reads only the
deliveries of their own kelurahan. Empty for deliveries planned before it was kept.

Revision ID: notify_0003
Revises: notify_0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0003"
down_revision: str | Sequence[str] | None = "notify_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("delivery", sa.Column("kelurahan_code", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("kelurahan_code")
