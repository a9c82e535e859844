"""Case work: attachments (issue 20).

Revision ID: intake_0012
Revises: intake_0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "intake_0012"
down_revision: str | Sequence[str] | None = "intake_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
