"""Case work: cases merged into another (issue 20).

Revision ID: referral_0010
Revises: referral_0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "referral_0010"
down_revision: str | Sequence[str] | None = "referral_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
