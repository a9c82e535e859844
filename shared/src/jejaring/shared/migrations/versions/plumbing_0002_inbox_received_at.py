"""An index on inbox.received_at, for pruning the inbox past the dedupe horizon.

Revision ID: plumbing_0002
Revises: plumbing_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "plumbing_0002"
down_revision: str | Sequence[str] | None = "plumbing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_received_at", table_name="inbox")
