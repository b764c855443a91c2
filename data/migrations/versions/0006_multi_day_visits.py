"""multi-day jobs: visits on consecutive days by the same technician

Revision ID: 0006_multi_day_visits
Revises: 0005_job_crews
Create Date: 2026-12-03 07:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_multi_day_visits"
down_revision: str | None = "0005_job_crews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("visit_number", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_foreign_key(
            batch_op.f("fk_jobs_visit_of_id_jobs"), "jobs", ["visit_of_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_visit_of_id_jobs"), type_="foreignkey")
        batch_op.drop_column("visit_number")
        batch_op.drop_column("visit_of_id")
