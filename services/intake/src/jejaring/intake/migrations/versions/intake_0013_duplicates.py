"""Case work: the possible-duplicates index and merges (issue 20).

Revision ID: intake_0013
Revises: intake_0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "intake_0013"
down_revision: str | Sequence[str] | None = "intake_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
