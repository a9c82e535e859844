"""Partners referral deactivated: their staff receive no documents any more (issue 20).

Revision ID: intake_0014
Revises: intake_0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0014"
down_revision: str | Sequence[str] | None = "intake_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inactive_partner",
        sa.Column("partner_slug", sa.String(40), primary_key=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inactive_partner")
