"""Technician and job imports at company scale: batched like customers, with the same outcomes and errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from data.db import Database
from data.feed import tail
from data.models import Job, Technician
from data.models.stock import StockLocation
from data.models.workforce import ShiftPattern
from data.transfer import importer
from data.transfer.csv_formats import JOB_COLUMNS, TECHNICIAN_COLUMNS, Entity
from data.transfer.importer import ImportRejected, import_file
from tests.factories import DISPATCHER, build_world

TECHS_HEADER = ",".join(TECHNICIAN_COLUMNS)
JOBS_HEADER = ",".join(JOB_COLUMNS)


def _tech(n: int, branch: str = "HEL") -> str:
    return (
        f"N{n},Tech {n},{branch},t{n}@example.fi,,60.17,24.94,hvac:2;plumbing:1,"
        f"mon-fri 08:00-16:00,2026-12-24 off,38.50,480,true"
    )


def _job(n: int, site: str = "S1", status: str = "new", technician: str = "", start: str = "") -> str:
    return f"Q{n},repair,{status},3,Job {n},,{site},hvac:1,45,,,,{technician},{start},false"


def _file(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _count(db: Database, model: type, *where: object) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


class _Statements:
    def __init__(self) -> None:
        self.seen = 0

    def count(self, *_args: object) -> None:
        self.seen += 1


@pytest.mark.parametrize(
    ("entity", "header", "make"),
    [(Entity.TECHNICIANS, TECHS_HEADER, _tech), (Entity.JOBS, JOBS_HEADER, _job)],
    ids=["technicians", "jobs"],
)
def test_statements_do_not_grow_with_the_rows(
    sqlite_db: Database, tmp_path: Path, entity: Entity, header: str, make: object
) -> None:
    build_world(sqlite_db)
    counts = []
    for size in (20, 800):
        path = _file(tmp_path / f"{entity.value}{size}.csv", header, [make(size + i) for i in range(size)])  # type: ignore[operator]
        statements = _Statements()
        event.listen(sqlite_db.engine, "before_cursor_execute", statements.count)
        try:
            report = import_file(sqlite_db, DISPATCHER, entity, path, dry_run=True)
        finally:
            event.remove(sqlite_db.engine, "before_cursor_execute", statements.count)
        assert (report.created, report.errors) == (size, [])
        counts.append(statements.seen)
    # 40 times the rows, not 40 times the statements: one lookup and one insert per batch, never one per row
    assert counts[1] <= 2 * counts[0], counts


def test_a_bad_technician_in_the_middle_of_a_large_file_writes_nothing_and_is_named(
    db: Database, tmp_path: Path
) -> None:
    build_world(db)
    rows = [_tech(n) for n in range(2500)]
    rows[1400] = _tech(1400, branch="OUL")  # file row 1402 (the header is row 1), in the second batch
    path = _file(tmp_path / "technicians.csv", TECHS_HEADER, rows)
    before = len(tail(db))
    with pytest.raises(ImportRejected) as info:
        import_file(db, DISPATCHER, Entity.TECHNICIANS, path)
    assert [str(e) for e in info.value.report.errors] == [
        "technicians.csv row 1402, field branch: unknown branch 'OUL' (known: HEL)"
    ]
    assert _count(db, Technician, Technician.code.like("N%")) == 0
    assert len(tail(db)) == before

    landed = import_file(db, DISPATCHER, Entity.TECHNICIANS, path, skip_bad=True)
    assert (landed.created, len(landed.rejected)) == (2499, 1)
    with db.read() as s:
        tech = s.scalar(select(Technician).where(Technician.code == "N2499"))
        assert tech is not None
        assert tech.skill_levels() == {"hvac": 2, "plumbing": 1}
        assert (
            s.scalar(select(func.count()).select_from(ShiftPattern).where(ShiftPattern.technician_id == tech.id)) == 5
        )
        assert s.scalar(select(StockLocation.technician_id).where(StockLocation.code == "VAN-N2499")) == tech.id
    created = [e for e in tail(db, 0, 100_000) if e.type == "technician.created"]
    assert len(created) == 2499


def test_a_bad_job_in_the_middle_of_a_large_file_writes_nothing_and_is_named(db: Database, tmp_path: Path) -> None:
    build_world(db)
    rows = [_job(n, site=f"S{1 + n % 3}") for n in range(2500)]
    rows[1700] = _job(1700, site="S99")
    rows[1800] = _job(1800, status="scheduled", technician="T1", start="2026-11-25T07:00:00+00:00")
    path = _file(tmp_path / "jobs.csv", JOBS_HEADER, rows)
    before = len(tail(db))
    with pytest.raises(ImportRejected) as info:
        import_file(db, DISPATCHER, Entity.JOBS, path)
    assert [str(e) for e in info.value.report.errors] == ["jobs.csv row 1702, field site: unknown site 'S99'"]
    assert _count(db, Job, Job.ref.like("Q%")) == 0
    assert len(tail(db)) == before

    landed = import_file(db, DISPATCHER, Entity.JOBS, path, skip_bad=True)
    assert (landed.created, len(landed.rejected)) == (2499, 1)
    with db.read() as s:
        planned = s.scalar(select(Job).where(Job.ref == "Q1800"))
        assert planned is not None and planned.technician_id is not None
        plain = s.scalar(select(Job).where(Job.ref == "Q2499"))
        assert plain is not None and plain.skill_requirements() == {"hvac": 1}
    created = [e for e in tail(db, 0, 100_000) if e.type == "job.created"]
    assert len(created) == 2499 and created[-1].payload["ref"] in {"Q2499", "Q1800"}


def test_batched_jobs_keep_the_row_by_row_rules(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_world(db)
    monkeypatch.setattr(importer, "BATCH_ROWS", 2, raising=False)
    rows = [
        ",repair,new,3,No ref given,,S1,,45,,,,,,false",  # gets J<id>
        _job(1),
        _job(2, status="scheduled"),  # a scheduled job needs a technician
        _job(3, technician="T9", start="2026-11-25T07:00:00+00:00", status="scheduled"),  # unknown technician
        _job(4, site="S2"),
    ]
    path = _file(tmp_path / "jobs.csv", JOBS_HEADER, rows)
    report = import_file(db, DISPATCHER, Entity.JOBS, path, skip_bad=True)
    assert [str(e) for e in report.errors] == [
        "jobs.csv row 4, field technician: a scheduled job needs a technician",
        "jobs.csv row 5, field technician: unknown technician 'T9'",
    ]
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.summary == "No ref given"))
        assert job is not None and job.ref == f"J{job.id:06d}"
    refs = [e.payload["ref"] for e in tail(db) if e.type == "job.created"]
    assert refs[-3:] == [job.ref, "Q1", "Q4"]
    with db.read() as s:
        q1 = s.scalar(select(Job).where(Job.ref == "Q1"))
        assert q1 is not None and q1.contract_id is not None  # the customer's contract covers repairs: its SLA
        assert q1.sla_due == q1.created_at + timedelta(hours=8)


def test_an_assignment_finds_later_visits_by_index_not_by_reading_every_job(sqlite_db: Database) -> None:
    """`pin_next_visits` runs on every assignment; without an index it read the whole jobs table each time,
    so an import of scheduled jobs slowed with every job already in the file (quadratic)."""
    with sqlite_db.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE visit_of_id = 1 ORDER BY visit_number"
        ).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_jobs_visit_of_id" in details, details
