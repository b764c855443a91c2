"""invoice series, credit notes, void invoices; the parts a job needs

Revision ID: 0013_invoice_series
Revises: 0012_messages
Create Date: 2026-12-06 21:47:20.718162
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import data.models.types

revision: str = "0013_invoice_series"
down_revision: str | None = "0012_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_series",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_number > 0", name=op.f("ck_invoice_series_number_positive")),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_invoice_series_branch_id_branches")),
        sa.PrimaryKeyConstraint("branch_id", "kind", "year", name=op.f("pk_invoice_series")),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", data.models.types.Money(precision=14, scale=4), nullable=False),
        sa.Column("tax", data.models.types.Money(precision=14, scale=4), nullable=False),
        sa.Column("total", data.models.types.Money(precision=14, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", data.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_credit_notes_branch_id_branches")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_credit_notes_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice_drafts.id"], name=op.f("fk_credit_notes_invoice_id_invoice_drafts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_credit_notes_invoice_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_credit_notes_ref")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_customer_id"), ["customer_id"], unique=False)

    with op.batch_alter_table("invoice_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voided_at", data.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(length=300), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_invoice_drafts_job_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_invoice_drafts_job_id"), ["job_id"], unique=False)

    _status_values(("draft", "sent", "paid", "void", "credited"))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts_needed", sa.JSON(), nullable=False, server_default="{}"))


def _status_values(values: tuple[str, ...]) -> None:
    """Invoice status gains `void` and `credited`: the CHECK the portable enum carries is rebuilt with them."""
    name = "ck_invoice_drafts_invoice_status"
    check = "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("invoice_drafts", recreate="always") as batch_op:
            batch_op.alter_column(
                "status",
                existing_type=sa.Enum(
                    "draft", "sent", "paid", name="invoice_status", native_enum=False, create_constraint=True, length=24
                ),
                type_=sa.Enum(*values, name="invoice_status", native_enum=False, create_constraint=True, length=24),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f(name), "invoice_drafts", type_="check")
    op.execute(f"ALTER TABLE invoice_drafts ADD CONSTRAINT {name} CHECK ({check})")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("parts_needed")
    _status_values(("draft", "sent", "paid"))
    with op.batch_alter_table("invoice_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_drafts_job_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_invoice_drafts_job_id"), ["job_id"])
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_at")

    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_customer_id"))

    op.drop_table("credit_notes")
    op.drop_table("invoice_series")
