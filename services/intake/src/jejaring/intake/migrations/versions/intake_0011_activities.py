"""Case work: activities and mediation sessions (issue 20).

Revision ID: intake_0011
Revises: intake_0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "intake_0011"
down_revision: str | Sequence[str] | None = "intake_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
