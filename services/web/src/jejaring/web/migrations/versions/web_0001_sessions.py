"""The web app's sessions and failed sign-ins.

Revision ID: web_0001
Revises:
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "web_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("web",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("person_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("kelurahan_code", sa.String(20), nullable=True),
        sa.Column("partner_slug", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_session_last_seen_at", "web_session", ["last_seen_at"])
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failure_address_at", "sign_in_failure", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_address_at", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_index("ix_web_session_last_seen_at", table_name="web_session")
    op.drop_table("web_session")
