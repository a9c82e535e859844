"""The read model (placeholder: the tables come with the projection).

Revision ID: report_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "report_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("report",)
depends_on: str | Sequence[str] | None = "plumbing_0001"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
