"""Case work: survivors' feedback (issue 20).

Revision ID: notify_0006
Revises: notify_0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "notify_0006"
down_revision: str | Sequence[str] | None = "notify_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
