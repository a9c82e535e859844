"""Partner contacts, deadlines and tokens; case states, referrals, unmet needs.

Revision ID: referral_0002
Revises: referral_0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0002"
down_revision: str | Sequence[str] | None = "referral_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("contacts", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("deadlines", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("token_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_partner_token_hash", ["token_hash"])
    op.create_table(
        "case_state",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("case_reference", sa.String(32), nullable=False),
        sa.Column("partner_slug", sa.String(40), nullable=False, index=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("business_status", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("risk_level", sa.String(10), nullable=False),
        sa.Column("kelurahan_code", sa.String(16), nullable=False),
        sa.Column("accept_by", TS, nullable=False, index=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("escalated_from", sa.Uuid(), nullable=True),
        sa.Column("overdue_at", TS, nullable=True),
        sa.UniqueConstraint("case_id", "service", "partner_slug"),
    )
    op.create_table(
        "unmet_need",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unmet_need")
    op.drop_table("referral")
    op.drop_table("case_state")
    with op.batch_alter_table("partner") as batch:
        batch.drop_constraint("uq_partner_token_hash", type_="unique")
        batch.drop_column("token_hash")
        batch.drop_column("deadlines")
        batch.drop_column("contacts")
