"""Users' API tokens expire: each has an end, and a token issued before this revision works for
90 days (the default lifetime) from the upgrade, so that no integration stops at once.

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-12-03
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jejaring.shared.db import UtcDateTime

revision: str = "intake_0006"
down_revision: str | Sequence[str] | None = "intake_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "app_user", sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    app_user = sa.table("app_user", sa.column("token_expires_at", UtcDateTime()))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    op.execute(app_user.update().values(token_expires_at=until))


def downgrade() -> None:
    op.drop_column("app_user", "token_expires_at")
