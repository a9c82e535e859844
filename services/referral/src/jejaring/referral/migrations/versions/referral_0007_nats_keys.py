"""Partners authenticate to NATS with NKeys: their public keys, each with its expiry and
revocation; the password hashes go (a password user is no longer in the configuration).

Revision ID: referral_0007
Revises: referral_0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referral_0007"
down_revision: str | Sequence[str] | None = "referral_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_nats_key",
        sa.Column("public_key", sa.String(60), primary_key=True),
        sa.Column("partner_slug", sa.String(40), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("nats_password_hash")


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("nats_password_hash", sa.String(100), nullable=True))
    op.drop_table("partner_nats_key")
