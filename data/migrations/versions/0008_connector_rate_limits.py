"""connector rate limits: a token bucket per connector, shared by every worker

Revision ID: 0008_connector_rate_limits
Revises: 0007_oauth_tokens
Create Date: 2026-12-03 08:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0008_connector_rate_limits"
down_revision: str | None = "0007_oauth_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_tokens", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("rate_at", data.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.drop_column("rate_at")
        batch_op.drop_column("rate_tokens")
