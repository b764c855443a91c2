"""plan breaks: the planner's break times stored with the applied plan

Revision ID: 0003_plan_breaks
Revises: 0002
Create Date: 2026-12-02 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0003_plan_breaks"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planned_breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_planned_breaks_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["technicians.id"],
            name=op.f("fk_planned_breaks_technician_id_technicians"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_breaks")),
    )
    with op.batch_alter_table("planned_breaks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_breaks_technician_id"), ["technician_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("planned_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planned_breaks_technician_id"))
    op.drop_table("planned_breaks")
