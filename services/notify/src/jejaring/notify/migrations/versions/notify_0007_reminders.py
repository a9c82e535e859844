"""Case work: task reminders (issue 20).

Revision ID: notify_0007
Revises: notify_0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "notify_0007"
down_revision: str | Sequence[str] | None = "notify_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
