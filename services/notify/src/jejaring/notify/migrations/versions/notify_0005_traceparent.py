"""The W3C traceparent of the event handling that planned each delivery, so that sending it
later continues that trace (tracing.py). Random ids only; empty for older rows.

Revision ID: notify_0005
Revises: notify_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0005"
down_revision: str | Sequence[str] | None = "notify_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("delivery", sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("traceparent")
