"""The audit trail: one hash-chained record per access or action, and the chain's head.

Revision ID: intake_0008
Revises: intake_0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from jejaring.shared import audit

revision: str = "intake_0008"
down_revision: str | Sequence[str] | None = "intake_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.create_tables()


def downgrade() -> None:
    audit.drop_tables()
