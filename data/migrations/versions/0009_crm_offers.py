"""crm offers: open offers pulled from CRMs for field follow-up

Revision ID: 0009_crm_offers
Revises: 0009_archive_and_custom_fields
Create Date: 2026-12-04 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0009_crm_offers"
down_revision: str | None = "0009_archive_and_custom_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("amount", data.models.types.Money(precision=14, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column(
            "response",
            sa.Enum(
                "none",
                "interested",
                "accepted",
                name="offer_response",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("response_note", sa.Text(), nullable=True),
        sa.Column("responded_by", sa.String(length=64), nullable=True),
        sa.Column("responded_at", data.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_job_id", sa.Integer(), nullable=True),
        sa.Column("quote_id", sa.Integer(), nullable=True),
        sa.Column("created_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_crm_offers_customer_id_customers")),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_crm_offers_quote_id_quotes")),
        sa.ForeignKeyConstraint(["response_job_id"], ["jobs.id"], name=op.f("fk_crm_offers_response_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_offers")),
        sa.UniqueConstraint("system", "external_id", name="one_row_per_remote_offer"),
    )
    with op.batch_alter_table("crm_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_offers_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_offers_customer_id"))

    op.drop_table("crm_offers")
