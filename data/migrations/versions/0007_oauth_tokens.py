"""oauth tokens: connectors' OAuth2 tokens, encrypted, shared by every worker

Revision ID: 0007_oauth_tokens
Revises: 0006_multi_day_visits
Create Date: 2026-12-03 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0007_oauth_tokens"
down_revision: str | None = "0006_multi_day_visits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_tokens",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_oauth_tokens")),
    )


def downgrade() -> None:
    op.drop_table("oauth_tokens")
