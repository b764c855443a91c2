"""archive master data (archived_at) and the company's custom fields on jobs, customers and sites

Revision ID: 0009_archive_and_custom_fields
Revises: 0009_deliveries_unfinished_index
Create Date: 2026-12-04 18:30:47.453428
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0009_archive_and_custom_fields"
down_revision: str | None = "0009_deliveries_unfinished_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ARCHIVED = (
    "assets",
    "branches",
    "contracts",
    "customers",
    "maintenance_plans",
    "parts",
    "price_lists",
    "sites",
    "skills",
    "stock_locations",
    "technicians",
)
CUSTOM = ("customers", "jobs", "sites")


def upgrade() -> None:
    for table in sorted({*ARCHIVED, *CUSTOM}):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in CUSTOM:
                batch_op.add_column(sa.Column("custom_fields", sa.JSON(), nullable=False, server_default="{}"))
            if table in ARCHIVED:
                batch_op.add_column(
                    sa.Column("archived_at", data.models.types.UTCDateTime(timezone=True), nullable=True)
                )


def downgrade() -> None:
    for table in sorted({*ARCHIVED, *CUSTOM}, reverse=True):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in ARCHIVED:
                batch_op.drop_column("archived_at")
            if table in CUSTOM:
                batch_op.drop_column("custom_fields")
