"""job dependencies: a job may have to start a gap after another job ends

Revision ID: 0004_job_dependencies
Revises: 0003_plan_breaks
Create Date: 2026-12-03 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_job_dependencies"
down_revision: str | None = "0003_plan_breaks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("after_job_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("after_gap_minutes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key(
            batch_op.f("fk_jobs_after_job_id_jobs"), "jobs", ["after_job_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_after_job_id_jobs"), type_="foreignkey")
        batch_op.drop_column("after_gap_minutes")
        batch_op.drop_column("after_job_id")
