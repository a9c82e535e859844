"""People's accounts: a login, a password (argon2id), a one-time setup code, a lock after
failed sign-ins, partner staff bound to a partner; and the sessions their refresh tokens keep.

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0004"
down_revision: str | Sequence[str] | None = "intake_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("login", sa.String(60), nullable=True))
    op.add_column("app_user", sa.Column("password_hash", sa.String(200), nullable=True))
    op.add_column("app_user", sa.Column("setup_code_hash", sa.String(64), nullable=True))
    op.add_column(
        "app_user", sa.Column("setup_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "app_user",
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("app_user", sa.Column("partner_slug", sa.String(40), nullable=True))
    # Logins are stored normalised (lower case, a phone number's digits), so a unique index
    # makes them unique case-insensitively on every database.
    op.create_index("uq_app_user_login", "app_user", ["login"], unique=True)
    op.create_table(
        "person_session",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("refresh_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_person_session_user_id", "person_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_person_session_user_id", table_name="person_session")
    op.drop_table("person_session")
    op.drop_index("uq_app_user_login", table_name="app_user")
    for column in (
        "partner_slug",
        "locked_until",
        "failed_sign_ins",
        "setup_expires_at",
        "setup_code_hash",
        "password_hash",
        "login",
    ):
        op.drop_column("app_user", column)
