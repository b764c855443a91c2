"""Imports at company scale: streamed, checked and written in batches, with the same outcomes row by row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from data.db import Database
from data.feed import tail
from data.models import Customer, Site
from data.transfer import importer
from data.transfer.csv_formats import CUSTOMER_COLUMNS, Entity, FileRejected, _check_utf8
from data.transfer.importer import ImportRejected, import_file
from tests.factories import DISPATCHER, build_world, statements_during

HEADER = ",".join(CUSTOMER_COLUMNS)


def _row(customer: int, site: int, name: str | None = None, terms: int = 30) -> str:
    return (
        f"K{customer},{name or f'Customer {customer}'},,,{terms},,Z{site},Site {site},HEL,"
        f"Street {site},00100,Helsinki,60.17,24.94,"
    )


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_queries_do_not_grow_with_the_rows(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    counts = []
    for size in (20, 800):
        path = _file(tmp_path / f"c{size}.csv", [_row(size + i, size + i) for i in range(size)])
        reports: list[Any] = []

        def dry_run(path: Path = path, reports: list[Any] = reports) -> None:
            reports.append(import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, path, dry_run=True))

        seen = statements_during(sqlite_db, dry_run)
        assert reports[0].created == size
        counts.append(seen)
    # 40 times the rows, not 40 times the statements: lookups go 500 codes at a time, never one per row
    assert counts[1] <= 2 * counts[0], counts


def test_batches_keep_every_rule_of_the_row_by_row_import(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(sqlite_db)
    monkeypatch.setattr(importer, "BATCH_ROWS", 2, raising=False)  # batches of 2 show the seams
    before = len(tail(sqlite_db))
    good = _file(tmp_path / "good.csv", [_row(1, 1), _row(2, 2), _row(1, 3), _row(3, 4), _row(1, 5)])
    report = import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, good)
    assert (report.rows, report.created, report.errors) == (5, 5, [])
    kinds = [(e.type, e.payload.get("code")) for e in tail(sqlite_db, before) if e.type != "import.completed"]
    assert kinds == [
        ("customer.created", "K1"), ("site.created", "Z1"), ("customer.created", "K2"), ("site.created", "Z2"),
        ("site.created", "Z3"), ("customer.created", "K3"), ("site.created", "Z4"), ("site.created", "Z5"),
    ]  # fmt: skip

    bad = _file(
        tmp_path / "bad.csv",
        [
            _row(1, 1),  # unchanged
            _row(4, 6),  # new
            _row(1, 7, terms=45),  # K1 differs from its first row (two batches back)
            _row(2, 3),  # Z3 belongs to K1
            _row(5, 6),  # Z6 twice in the file
            _row(4, 8),  # K4 again, same values: fine
        ],
    )
    with pytest.raises(ImportRejected) as info:
        import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, bad)
    assert [str(e) for e in info.value.report.errors] == [
        "bad.csv row 4, field payment_terms_days: differs from the customer's first row (30)",
        "bad.csv row 5, field customer_code: site Z3 belongs to another customer; a site cannot move between customers",
        "bad.csv row 6, field site_code: 'Z6' appears twice in the file",
    ]
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.code == "K4")) == 0

    landed = import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, bad, skip_bad=True)
    assert (landed.created, landed.unchanged, len(landed.rejected)) == (2, 1, 3)
    with sqlite_db.read() as s:
        assert s.scalar(select(Site.customer_id).where(Site.code == "Z8")) == s.scalar(
            select(Customer.id).where(Customer.code == "K4")
        )


def test_a_row_refused_by_its_site_leaves_its_customer_unwritten(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, _file(tmp_path / "a.csv", [_row(1, 1)]))
    path = _file(tmp_path / "b.csv", [_row(9, 1), _row(2, 2)])
    report = import_file(sqlite_db, DISPATCHER, Entity.CUSTOMERS, path, skip_bad=True)
    assert (report.created, len(report.rejected)) == (1, 1)
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.code == "K9")) == 0


def test_the_first_byte_that_is_not_utf8_is_named_across_read_blocks(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("åäö".encode() + b"ok\xff")  # the 2-byte characters straddle 3-byte blocks
    with pytest.raises(FileRejected) as info:
        _check_utf8(path, chunk=3)
    assert "invalid start byte at byte 8" in info.value.message
