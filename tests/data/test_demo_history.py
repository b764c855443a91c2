"""The demo's 90 days of history: reports, invoices, timesheets and plans that agree with the services' rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import raiseload

from data.availability import local_day_bounds
from data.db import Database, open_database
from data.demo import DEMO_ACTOR, build_demo, table_fingerprint
from data.kpis import compute_kpis
from data.models import (
    CompletionReport,
    Expense,
    InvoiceDraft,
    InvoiceLine,
    Job,
    JobStatus,
    MaintenancePlan,
    Part,
    PartReturn,
    PartUsed,
    StockLocation,
    Technician,
    Timesheet,
    TimesheetStatus,
)
from data.services.invoicing import draft_invoice_in
from data.services.maintenance import generate_due_jobs
from data.services.timesheets import compute_timesheet
from data.uow import UnitOfWork

DAY = date(2026, 11, 25)
HISTORY_START = DAY - timedelta(days=90)
DAY_START = local_day_bounds(DAY, "Europe/Helsinki")[0]
NEW_TABLES = (
    "completion_reports",
    "parts_used",
    "expenses",
    "invoice_drafts",
    "invoice_lines",
    "timesheets",
    "maintenance_plans",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The default-size demo, built once: these tests only read it (or roll back)."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    database = open_database(f"sqlite:///{path}")
    build_demo(database, today=DAY)
    yield database
    database.dispose()


class _Rollback(Exception):
    pass


def test_history_tables_are_filled_and_deterministic(tmp_path: Path) -> None:
    small: dict[str, Any] = {"technicians": 6, "customers": 40, "jobs_today": 10, "history_days": 10, "today": DAY}
    first = open_database(f"sqlite:///{tmp_path}/a.sqlite")
    again = open_database(f"sqlite:///{tmp_path}/b.sqlite")
    other = open_database(f"sqlite:///{tmp_path}/c.sqlite")
    try:
        build_demo(first, seed=21, **small)
        build_demo(again, seed=21, **small)
        build_demo(other, seed=22, **small)
        rows = table_fingerprint(first, NEW_TABLES)
        assert rows == table_fingerprint(again, NEW_TABLES)
        assert rows["invoice_lines"] != table_fingerprint(other, NEW_TABLES)["invoice_lines"]
        for table in NEW_TABLES:
            assert rows[table], f"{table} is empty"
    finally:
        first.dispose()
        again.dispose()
        other.dispose()


def test_kpis_over_the_history_are_plausible(demo: Database) -> None:
    overall = compute_kpis(demo, HISTORY_START, DAY - timedelta(days=1)).groups[0].values
    sla = overall["sla_compliance"]
    ftf = overall["first_time_fix_rate"]
    assert isinstance(sla, float) and 0.80 <= sla <= 0.99, sla
    assert isinstance(ftf, float) and 0.80 <= ftf <= 0.95, ftf
    revenue = overall["revenue"]
    assert isinstance(revenue, Decimal) and revenue > 0
    travel = overall["travel_share"]
    assert isinstance(travel, float) and 0.05 < travel < 0.5, travel
    by_customer = compute_kpis(demo, HISTORY_START, DAY - timedelta(days=1), by="customer").groups
    paying = [g for g in by_customer if isinstance(g.values["revenue"], Decimal) and g.values["revenue"] > 0]
    assert len(paying) >= 0.9 * len(by_customer), (len(paying), len(by_customer))


def test_every_finished_visit_has_a_consistent_report_and_invoice(demo: Database) -> None:
    with demo.read() as s:
        finished = s.scalars(
            select(Job).where(Job.status.in_((JobStatus.COMPLETED, JobStatus.INCOMPLETE)), Job.actual_end < DAY_START)
        ).all()
        reports = {r.job_id: r for r in s.scalars(select(CompletionReport).options(raiseload("*")))}
        invoices = set(s.scalars(select(InvoiceDraft.job_id)))
        follow_up_of = {row[0]: row[1] for row in s.execute(select(Job.id, Job.follow_up_of_id))}
        assert len(finished) > 1000
        for job in finished:
            report = reports[job.id]
            assert job.actual_start is not None and job.actual_end is not None
            assert job.id in invoices, job.ref
            assert report.technician_id == job.technician_id
            assert report.actual_start == job.actual_start == job.arrived_at and report.actual_end == job.actual_end
            assert report.labour_minutes == int((job.actual_end - job.actual_start).total_seconds() // 60)
            assert 5 <= report.travel_minutes <= 40
            assert report.resolution_code
            if job.status is JobStatus.INCOMPLETE:
                assert not report.first_time_fix
            if report.follow_up_job_id is not None:
                assert not report.first_time_fix
                assert follow_up_of[report.follow_up_job_id] == job.id
            if report.signer_name:
                assert report.summary_sha256 and len(report.summary_sha256) == 64
        not_fixed = [r for r in reports.values() if not r.first_time_fix]
        linked = [r for r in not_fixed if r.follow_up_job_id is not None]
        assert len(linked) >= 0.7 * len(not_fixed), (len(linked), len(not_fixed))


def test_invoices_reconcile_in_decimal(demo: Database) -> None:
    with demo.read() as s:
        lines: dict[int, list[InvoiceLine]] = {}
        for line in s.scalars(select(InvoiceLine).order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
            lines.setdefault(line.invoice_id, []).append(line)
        invoices = s.scalars(select(InvoiceDraft).options(raiseload("*"))).all()
        assert invoices
        covered = 0
        for invoice in invoices:
            mine = lines[invoice.id]
            for value in (invoice.subtotal, invoice.tax, invoice.total, *(ln.amount for ln in mine)):
                assert isinstance(value, Decimal)
            assert sum((ln.amount for ln in mine), Decimal("0")) == invoice.subtotal, invoice.ref
            assert sum((ln.tax_amount for ln in mine), Decimal("0")) == invoice.tax, invoice.ref
            assert invoice.total == invoice.subtotal + invoice.tax, invoice.ref
            covered += any(ln.covered for ln in mine)
        assert 0 < covered < len(invoices)


def test_invoices_equal_what_the_invoicing_service_drafts(demo: Database) -> None:
    """Re-draft a sample through the production path (inside a rolled-back transaction) and compare."""
    with demo.read() as s:
        covered_ids = set(s.scalars(select(InvoiceLine.invoice_id).where(InvoiceLine.covered.is_(True))))
        with_parts = set(s.scalars(select(CompletionReport.job_id).join(PartUsed)))
        with_expense = set(s.scalars(select(CompletionReport.job_id).join(Expense)))
        drafts = s.scalars(select(InvoiceDraft).order_by(InvoiceDraft.id)).all()
        sample = [d for d in drafts if d.id in covered_ids][:40] + [d for d in drafts if d.job_id in with_parts][:40]
        sample += [d for d in drafts if d.job_id in with_expense][:20] + list(drafts[:20])
        stored = {
            d.job_id: (d.subtotal, d.tax, d.total, [(ln.kind, ln.amount, ln.covered) for ln in d.lines]) for d in sample
        }
    assert len(stored) > 60
    with pytest.raises(_Rollback), UnitOfWork(demo, DEMO_ACTOR) as uow:
        s = uow.session
        for job_id, expected in stored.items():
            old = s.scalar(select(InvoiceDraft).where(InvoiceDraft.job_id == job_id))
            s.delete(old)
            s.flush()
            job = s.get(Job, job_id)
            report = s.scalar(select(CompletionReport).where(CompletionReport.job_id == job_id))
            assert job is not None and report is not None
            fresh = draft_invoice_in(uow, job, report)
            got = (fresh.subtotal, fresh.tax, fresh.total, [(ln.kind, ln.amount, ln.covered) for ln in fresh.lines])
            assert got == expected, job.ref
        raise _Rollback


def test_parts_used_exist_and_come_from_the_technicians_van(demo: Database) -> None:
    with demo.read() as s:
        rows = s.execute(
            select(PartUsed, Part, CompletionReport, StockLocation)
            .outerjoin(Part, Part.id == PartUsed.part_id)
            .join(CompletionReport, CompletionReport.id == PartUsed.report_id)
            .outerjoin(StockLocation, StockLocation.id == PartUsed.from_location_id)
        ).all()
        reports = s.scalar(select(func.count()).select_from(CompletionReport)) or 0
        assert 0.15 * reports < len(rows) < reports
        for used, part, report, van in rows:
            assert part is not None, used.part_id
            assert van is not None and van.technician_id == report.technician_id
            assert len(used.serials) == (used.quantity if part.serial_tracked else 0)
        # Parts replaced under warranty travel back, one return per unit, as the completion service records them.
        returns: dict[tuple[int, int], int] = {}
        for ret in s.scalars(select(PartReturn)):
            returns[(ret.job_id, ret.part_id)] = returns.get((ret.job_id, ret.part_id), 0) + 1
        warranty = {(r.job_id, u.part_id): u.quantity for u, _p, r, _v in rows if u.under_warranty}
        assert warranty and returns == warranty


def test_timesheets_match_the_timesheet_computation(demo: Database) -> None:
    with demo.read() as s:
        sheets = s.scalars(select(Timesheet).order_by(Timesheet.day, Timesheet.technician_id)).all()
        codes = {t.id: t.code for t in s.scalars(select(Technician))}
    assert sheets and all(t.status is TimesheetStatus.CLOSED and t.day < DAY for t in sheets)
    assert any(t.overtime_minutes > 0 for t in sheets) or all(t.worked_minutes < 480 for t in sheets)
    for sheet in sheets[:: max(1, len(sheets) // 40)]:
        figures = compute_timesheet(demo, codes[sheet.technician_id], sheet.day)
        assert (
            figures.worked_minutes,
            figures.travel_minutes,
            figures.break_minutes,
            figures.overtime_minutes,
        ) == (sheet.worked_minutes, sheet.travel_minutes, sheet.break_minutes, sheet.overtime_minutes), sheet.day
        assert figures.split.breakdown(figures.rules) == sheet.overtime_breakdown


def test_contract_visits_have_slas_and_others_none(demo: Database) -> None:
    with demo.read() as s:
        history = s.scalars(select(Job).where(Job.actual_end < DAY_START)).all()
    assert all((j.sla_due is not None) == (j.contract_id is not None) for j in history)
    assert all(j.arrived_at is None or j.created_at < j.arrived_at for j in history)


def test_maintenance_plans_generate_jobs(demo: Database) -> None:
    with demo.read() as s:
        plans = s.scalars(select(MaintenancePlan)).all()
    assert len(plans) > 20 and any(p.contract_id for p in plans) and any(p.contract_id is None for p in plans)
    made = generate_due_jobs(demo, DEMO_ACTOR, horizon_days=30, today=DAY)
    assert len(made) > 5
    assert generate_due_jobs(demo, DEMO_ACTOR, horizon_days=30, today=DAY) == []
