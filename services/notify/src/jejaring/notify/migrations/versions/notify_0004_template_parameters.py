"""The WhatsApp template's parameters of each delivery (allow-listed values only), so that the
WhatsApp channel sends an approved template rather than free text (empty for older rows); and
an index on the provider's message id, by which WhatsApp's status webhook finds a delivery.

Revision ID: notify_0004
Revises: notify_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0004"
down_revision: str | Sequence[str] | None = "notify_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("delivery", sa.Column("template_parameters", sa.JSON(), nullable=True))
    op.create_index(
        "ix_delivery_provider_message_id", "delivery", ["provider_message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_provider_message_id", table_name="delivery")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("template_parameters")
