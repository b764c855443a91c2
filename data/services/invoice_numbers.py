"""Invoice and credit note numbers: one gap-free series per branch, kind and year (`HEL-2026-000123`).

The next number is taken by one upsert on `invoice_series` inside the transaction that stores the document:
`INSERT ... ON CONFLICT DO UPDATE SET last_number = last_number + 1 RETURNING last_number`. On PostgreSQL the
row stays locked until that transaction ends, so two completions in one branch queue on it and never share a
number; a transaction that fails rolls its number back with it, so the series has no gaps. On SQLite writers
already queue (`BEGIN IMMEDIATE`). `invoice_drafts.ref` and `credit_notes.ref` are unique besides.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.models.field import InvoiceSeries


class SeriesKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


DIGITS = 6
PREFIXES = {SeriesKind.INVOICE: "", SeriesKind.CREDIT_NOTE: "CN-"}


def series_ref(branch_code: str, kind: SeriesKind, year: int, number: int) -> str:
    """The one format of a document number: branch code, the kind's prefix, year, six digits."""
    return f"{branch_code}-{PREFIXES[kind]}{year}-{number:0{DIGITS}d}"


def next_number(session: Session, branch_id: int, kind: SeriesKind, year: int) -> int:
    """Take the next number of the series (the first is 1), holding the series row until the caller commits."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row = InvoiceSeries
    stmt = (
        insert(row)
        .values(branch_id=branch_id, kind=kind.value, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[row.branch_id, row.kind, row.year], set_={"last_number": row.last_number + 1}
        )
        .returning(row.last_number)
    )
    return int(session.execute(stmt).scalar_one())


def next_ref(session: Session, branch_id: int, branch_code: str, kind: SeriesKind, year: int) -> str:
    return series_ref(branch_code, kind, year, next_number(session, branch_id, kind, year))
