"""branch maps keep the extract's address points

Revision ID: 0016_branch_map_addresses
Revises: 0015_jobs_visit_of_index
Create Date: 2026-12-06 23:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_branch_map_addresses"
down_revision: str | None = "0015_jobs_visit_of_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("branch_maps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("addresses", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("address_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("branch_maps", schema=None) as batch_op:
        batch_op.drop_column("address_count")
        batch_op.drop_column("addresses")
