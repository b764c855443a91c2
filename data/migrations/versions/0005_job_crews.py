"""job crews: a visit by several technicians starting together

Revision ID: 0005_job_crews
Revises: 0004_job_dependencies
Create Date: 2026-12-03 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_job_crews"
down_revision: str | None = "0004_job_dependencies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crew_size", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "job_crew_members",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_crew_members_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["technicians.id"], name=op.f("fk_job_crew_members_technician_id_technicians")
        ),
        sa.PrimaryKeyConstraint("job_id", "seat", name=op.f("pk_job_crew_members")),
    )
    with op.batch_alter_table("job_crew_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_crew_members_technician_id"), ["technician_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_crew_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_crew_members_technician_id"))
    op.drop_table("job_crew_members")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("crew_size")
