"""index jobs.visit_of_id (each assignment looks up the job's later visits)

Revision ID: 0015_jobs_visit_of_index
Revises: 0014_timesheet_day
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_jobs_visit_of_index"
down_revision: str | None = "0014_timesheet_day"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_visit_of_id"), ["visit_of_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_visit_of_id"))
