"""branch maps: each branch's base layer and road graph

Revision ID: 0009_branch_maps
Revises: 0009_crm_offers
Create Date: 2026-12-04 18:33:27.461658
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0009_branch_maps"
down_revision: str | None = "0009_crm_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "branch_maps",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("attribution", sa.String(length=255), nullable=False),
        sa.Column("south", sa.Double(), nullable=False),
        sa.Column("west", sa.Double(), nullable=False),
        sa.Column("north", sa.Double(), nullable=False),
        sa.Column("east", sa.Double(), nullable=False),
        sa.Column("layer", sa.LargeBinary(), nullable=False),
        sa.Column("road_graph", sa.LargeBinary(), nullable=True),
        sa.Column("road_nodes", sa.Integer(), nullable=False),
        sa.Column("road_edges", sa.Integer(), nullable=False),
        sa.Column("imported_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_branch_maps_branch_id_branches")),
        sa.PrimaryKeyConstraint("branch_id", name=op.f("pk_branch_maps")),
    )


def downgrade() -> None:
    op.drop_table("branch_maps")
