"""The audit trail of partner and credential actions and partners' answers: intake's columns
(jejaring.shared.audit) and the partner concerned, and the chain's head.

Revision ID: referral_0009
Revises: referral_0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa

from jejaring.shared import audit

revision: str = "referral_0009"
down_revision: str | Sequence[str] | None = "referral_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.create_tables(sa.Column("partner", sa.String(40), nullable=True))


def downgrade() -> None:
    audit.drop_tables("partner")
