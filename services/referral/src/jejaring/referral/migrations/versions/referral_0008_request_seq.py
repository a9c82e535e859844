"""Retention: each request's sequence on its partner's stream, kept as long as the referral
(the outbox row that had it is pruned a day after sending), and the requests waiting to be
taken off a partner's stream (cancelled before the partner fetched them).

Revision ID: referral_0008
Revises: referral_0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0008"
down_revision: str | Sequence[str] | None = "referral_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("request_seq", sa.BigInteger(), nullable=True))
        batch.create_index("ix_referral_request_msg_id", ["request_msg_id"])
    # what the outbox still knows (rows of the last day)
    op.execute(
        "UPDATE referral SET request_seq = (SELECT outbox.stream_seq FROM outbox "
        "WHERE outbox.msg_id = referral.request_msg_id) WHERE request_msg_id IS NOT NULL"
    )
    op.create_table(
        "request_forget",
        sa.Column("referral_id", sa.Uuid(), primary_key=True),
        sa.Column("partner_slug", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("request_forget")
    with op.batch_alter_table("referral") as batch:
        batch.drop_index("ix_referral_request_msg_id")
        batch.drop_column("request_seq")
