"""timesheets from the day, holidays, stock minimums, part return receipts

Revision ID: 0014_timesheet_day
Revises: 0013_invoice_series
Create Date: 2026-12-06 21:48:26.199256
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0014_timesheet_day"
down_revision: str | None = "0013_invoice_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("overtime_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "holiday_multiplier",
                data.models.types.Money(precision=14, scale=4),
                nullable=False,
                server_default="2.0",
            )
        )
        batch_op.add_column(sa.Column("holiday_country", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("holiday_dates", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("part_returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("received_at", data.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("closed_at", data.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))

    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_quantity", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("timesheets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_in", data.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("clock_out", data.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("on_site_minutes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("waiting_minutes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("absences", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("holiday", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_at", data.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timesheets", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
        batch_op.drop_column("holiday")
        batch_op.drop_column("absences")
        batch_op.drop_column("waiting_minutes")
        batch_op.drop_column("on_site_minutes")
        batch_op.drop_column("clock_out")
        batch_op.drop_column("clock_in")

    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.drop_column("min_quantity")

    with op.batch_alter_table("part_returns", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("received_at")
        batch_op.drop_column("received_by")

    with op.batch_alter_table("overtime_rules", schema=None) as batch_op:
        batch_op.drop_column("holiday_dates")
        batch_op.drop_column("holiday_country")
        batch_op.drop_column("holiday_multiplier")
