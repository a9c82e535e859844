"""Case work: cases merged into another (issue 20). A merged case's referrals join the kept
case's, which may have one to the same partner for the same need: the unique key on (case,
service, partner) goes (referral ids, derived from those three, stay the primary key).

Revision ID: referral_0010
Revises: referral_0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "referral_0010"
down_revision: str | Sequence[str] | None = "referral_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# referral_0002 left the key unnamed: PostgreSQL named it so; on SQLite batch mode gives it
# this convention's name when it copies the table.
_POSTGRES_NAME = "referral_case_id_service_partner_slug_key"
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_SQLITE_NAME = "uq_referral_case_id"


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("referral", naming_convention=_CONVENTION) as batch:
            batch.drop_constraint(_SQLITE_NAME, type_="unique")
    else:
        op.drop_constraint(_POSTGRES_NAME, "referral", type_="unique")


def downgrade() -> None:
    columns = ["case_id", "service", "partner_slug"]
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("referral") as batch:
            batch.create_unique_constraint(_SQLITE_NAME, columns)
    else:
        op.create_unique_constraint(_POSTGRES_NAME, "referral", columns)
