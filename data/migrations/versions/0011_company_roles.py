"""company roles

Revision ID: 0011_company_roles
Revises: 0010_sealed_secrets
Create Date: 2026-12-04 18:55:38
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0011_company_roles"
down_revision: str | None = "0010_sealed_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("branch_codes", sa.JSON(), nullable=False),
        sa.Column("created_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_company_roles_name")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company_role_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_company_role_id_company_roles"), "company_roles", ["company_role_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_company_role_id_company_roles"), type_="foreignkey")
        batch_op.drop_column("company_role_id")

    op.drop_table("company_roles")
