"""Need to know: a case's `sensitive` mark, the consent override waiting for the coordinator,
whether case.v1.created was staged, and the officers assigned to a case.

Cases recorded before this revision were published when recorded: `announced` is true and their
overrides (if any) are not held back. `sensitive` is computed for them as for a new case.

Revision ID: intake_0007
Revises: intake_0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jejaring.intake.rules import is_sensitive
from jejaring.shared.contract.enums import ViolenceForm

revision: str = "intake_0007"
down_revision: str | Sequence[str] | None = "intake_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "case_record",
        sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("case_record", sa.Column("override_status", sa.String(12), nullable=True))
    op.add_column("case_record", sa.Column("override_confirmed_by", sa.Uuid(), nullable=True))
    op.add_column(
        "case_record",
        sa.Column("override_confirmed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "case_record",
        sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_case_record_sensitive", "case_record", ["sensitive"])
    op.create_index("ix_case_record_override_status", "case_record", ["override_status"])
    op.create_table(
        "case_assignment",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("assigned_by", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_assignment_user_id", "case_assignment", ["user_id"])
    case = sa.table(
        "case_record",
        sa.column("id", sa.Uuid()),
        sa.column("violence_forms", sa.JSON()),
        sa.column("victims", sa.JSON()),
        sa.column("sensitive", sa.Boolean()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(case.c.id, case.c.violence_forms, case.c.victims)).all()
    for row in rows:
        sensitive = is_sensitive(
            violence_forms=[ViolenceForm(f) for f in row.violence_forms],
            any_child=any(v.get("is_child") for v in row.victims),
        )
        if sensitive:
            conn.execute(case.update().where(case.c.id == row.id).values(sensitive=True))


def downgrade() -> None:
    op.drop_index("ix_case_assignment_user_id", table_name="case_assignment")
    op.drop_table("case_assignment")
    op.drop_index("ix_case_record_override_status", table_name="case_record")
    op.drop_index("ix_case_record_sensitive", table_name="case_record")
    for column in ("announced", "override_confirmed_at", "override_confirmed_by"):
        op.drop_column("case_record", column)
    op.drop_column("case_record", "override_status")
    op.drop_column("case_record", "sensitive")
