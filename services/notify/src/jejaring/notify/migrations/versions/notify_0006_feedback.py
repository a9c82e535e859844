"""Case work: survivors' feedback (issue 20): the requests waiting for a reply (a keyed hash
of the phone, never the phone) and the scores received (no phone, no case).

Revision ID: notify_0006
Revises: notify_0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0006"
down_revision: str | Sequence[str] | None = "notify_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback_request",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("partner_slugs", sa.JSON(), nullable=False),
        sa.Column("asked_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_feedback_request_phone_hash", "feedback_request", ["phone_hash"])
    op.create_index("ix_feedback_request_expires_at", "feedback_request", ["expires_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("partner_slugs", sa.JSON(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_index("ix_feedback_request_expires_at", "feedback_request")
    op.drop_index("ix_feedback_request_phone_hash", "feedback_request")
    op.drop_table("feedback_request")
