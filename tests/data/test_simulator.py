"""The field simulator drives a small world through a day using only the field services."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from data.db import Database, create_database_engine
from data.feed import tail
from data.models import Absence, Job, JobStatus, JobType, Technician, TechnicianStatus
from data.models.field import CompletionReport, InvoiceDraft, Timesheet, TimesheetStatus
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.stock import move_stock
from data.simulator import FieldSimulator, StepReport
from tests.factories import DAY, DISPATCHER, build_world, local

PLAN = [  # (technician, site, hour, minutes, skill)
    ("T1", "S1", 8, 30, 60, {"hvac": 1}),
    ("T1", "S2", 11, 0, 90, {"hvac": 1}),
    ("T1", "S3", 14, 0, 60, {"hvac": 1}),
    ("T2", "S2", 9, 0, 60, {"plumbing": 1}),
    ("T2", "S3", 12, 0, 45, {"plumbing": 1}),
    ("T3", "S1", 9, 0, 60, {"hvac": 1}),
    ("T3", "S2", 13, 0, 60, {"hvac": 1}),
]


def small_day(db: Database) -> dict[str, str]:
    build_world(db)
    move_stock(db, DISPATCHER, "FLT-01", 5, from_location="WH-HEL", to_location="VAN-T1", reason="load")
    refs = {}
    for i, (tech, site, hour, minute, minutes, skills) in enumerate(PLAN):
        job = create_job(
            db,
            DISPATCHER,
            JobDraft(
                JobType.REPAIR,
                site,
                f"Visit {i}",
                minutes,
                skills=skills,
                asset_serial="HP-001" if site == "S1" else None,
                created_at=local(7),
            ),
        )
        assign_job(db, DISPATCHER, job.ref, tech, local(hour, minute))
        refs[f"{tech}-{i}"] = job.ref
    return refs


def run_day(db: Database, sim: FieldSimulator, step_minutes: int = 5) -> list[StepReport]:
    reports = []
    now = local(7)
    while now <= local(1, 0, DAY + timedelta(days=1)):
        reports.append(sim.step(now))
        now += timedelta(minutes=step_minutes)
    return reports


def test_a_simulated_day(db: Database) -> None:
    small_day(db)
    reports = run_day(db, FieldSimulator(db, ping_seconds=120), step_minutes=30)
    assert not [e for r in reports for e in r.errors]
    with db.read() as s:
        jobs = {j.ref: j for j in s.scalars(select(Job))}
        techs = {t.id: t.code for t in s.scalars(select(Technician))}
        by_status: dict[str, list[str]] = {}
        for j in jobs.values():
            by_status.setdefault(j.status.value, []).append(techs.get(j.technician_id or 0, "-"))
        # T1 (late) and T2 finish all their jobs; T3 calls in sick at 10:30 after finishing the 09:00 job.
        assert sorted(by_status["completed"]) == ["T1", "T1", "T1", "T2", "T2", "T3"]
        unassigned = [j for j in jobs.values() if j.status is JobStatus.NEW and j.follow_up_of_id is None]
        assert len(unassigned) == 1 and unassigned[0].summary == "Visit 6"
        assert s.scalar(select(func.count()).select_from(Absence)) == 1
        sick = s.scalar(select(Technician).where(Technician.code == "T3"))
        assert sick is not None and sick.status is TechnicianStatus.ABSENT
        reports_by_job = {r.job_id: r for r in s.scalars(select(CompletionReport))}
        invoices = {i.job_id: i for i in s.scalars(select(InvoiceDraft))}
        assert set(reports_by_job) == set(invoices) and len(reports_by_job) == 6
        for job_id, rep in reports_by_job.items():
            job = s.get(Job, job_id)
            assert job is not None and rep.signer_name and rep.summary_sha256
            assert rep.actual_end == job.actual_end and job.arrived_at is not None
            expected = job.duration_minutes * (1.5 if techs[rep.technician_id] == "T1" else 1)
            assert rep.labour_minutes == expected
            inv = invoices[job_id]
            assert inv.subtotal == sum((ln.amount for ln in inv.lines), Decimal(0))
            assert inv.total == inv.subtotal + inv.tax and isinstance(inv.total, Decimal)
        # Every sheet is closed after midnight and pays the clocked day: from the first drive to the last visit's
        # end (T3: to the sick call), travel and on-site time exactly as reported, the rest waiting.
        sheets = list(s.scalars(select(Timesheet)))
        assert {techs[t.technician_id] for t in sheets} == {"T1", "T2", "T3"}
        for sheet in sheets:
            mine = [r for r in reports_by_job.values() if r.technician_id == sheet.technician_id]
            assert sheet.status is TimesheetStatus.CLOSED and sheet.day == DAY
            assert sheet.clock_in is not None and sheet.clock_out is not None
            clocked = int((sheet.clock_out - sheet.clock_in).total_seconds() // 60)
            assert sheet.worked_minutes + sheet.travel_minutes == clocked
            assert sheet.on_site_minutes == sum(r.labour_minutes for r in mine)
            assert sheet.travel_minutes == sum(r.travel_minutes for r in mine)
            assert sheet.waiting_minutes == clocked - sheet.on_site_minutes - sheet.travel_minutes
        t3 = next(t for t in sheets if techs[t.technician_id] == "T3")
        assert t3.clock_out == local(10, 30)
    events = tail(db, limit=100_000)
    kinds = {e.type for e in events}
    assert {
        "technician.position",
        "job.completed",
        "invoice.drafted",
        "timesheet.closed",
        "technician.absent",
        "job.unassigned",
    } <= kinds
    assert {e.source for e in events if e.type == "job.completed"} == {"simulator"}
    assert {e.actor for e in events if e.type == "job.completed"} == {"tech-t1", "tech-t2", "tech-t3"}
    # Positions move along the way: several distinct pings per drive, all inside the city.
    pings = [e.payload for e in events if e.type == "technician.position"]
    assert len(pings) > 10 and all(60.1 < p["lat"] < 60.3 for p in pings)


def _fresh(template: Path, path: Path) -> Database:
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    return Database(url, create_database_engine(url))


def test_steps_are_deterministic(sqlite_template: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        db = _fresh(sqlite_template, tmp_path / f"{name}.sqlite")
        small_day(db)
        run_day(db, FieldSimulator(db), 30)
        runs.append([(e.type, e.subject_id, e.payload, e.actor) for e in tail(db, limit=100_000)])
        if name == "b":
            # A second simulator over the finished day finds nothing left to do.
            again = run_day(db, FieldSimulator(db), 120)
            assert sum(r.completed + r.positions + r.en_route for r in again) == 0
        db.dispose()
    assert runs[0] == runs[1] and sum(t == "job.completed" for t, *_ in runs[0]) == 6


def test_sick_call_mid_visit_leaves_job_incomplete(sqlite_db: Database) -> None:
    small_day(sqlite_db)
    sim = FieldSimulator(sqlite_db, late_technician="T1", sick_technician="T2")
    sim.step(local(9, 20))  # T2 is on site at S2 (09:00-10:00); make the job long enough to be there at 10:30.
    with sqlite_db.write_session() as s:
        job = s.scalar(select(Job).where(Job.summary == "Visit 3"))
        assert job is not None and job.status is JobStatus.ON_SITE
        job.duration_minutes = 240
        s.commit()
    report_sick = sim.step(local(10, 40))
    assert report_sick.incomplete == 1 and report_sick.unassigned == 1
    with sqlite_db.read() as s:
        job = s.scalar(select(Job).where(Job.summary == "Visit 3"))
        assert job is not None and job.status is JobStatus.INCOMPLETE
        follow = s.scalar(select(Job).where(Job.follow_up_of_id == job.id))
        assert follow is not None and follow.duration_minutes == 240


async def test_run_loop_advances_with_the_clock(sqlite_db: Database) -> None:
    small_day(sqlite_db)
    wall = [local(7)]

    def clock() -> datetime:
        wall[0] += timedelta(seconds=10)  # each read: 10 s of wall time = 10 simulated hours at 3600x
        return wall[0]

    sim = FieldSimulator(sqlite_db, clock, speedup=3600, start=local(7), incidents=False)
    stop = asyncio.Event()
    task = asyncio.create_task(sim.run(stop, tick_seconds=0.01))

    def completed() -> int:
        with sqlite_db.read() as s:
            return s.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.COMPLETED)) or 0

    async def day_done() -> None:  # wait for the condition, however slow the machine
        while await asyncio.to_thread(completed) < 7:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(day_done(), 60)
    stop.set()
    steps = await asyncio.wait_for(task, 60)
    assert steps >= 1 and sim.last_report is not None
    assert completed() == 7


def test_a_job_cancelled_by_the_office_is_left_alone(sqlite_db: Database) -> None:
    refs = small_day(sqlite_db)
    sim = FieldSimulator(sqlite_db, incidents=False)
    sim.step(local(8, 0))  # T1 is driving to the 08:30 job
    from data.services.jobs import change_status

    change_status(sqlite_db, DISPATCHER, refs["T1-0"], JobStatus.CANCELLED, reason="customer cancelled")
    later = [sim.step(local(h, 0)) for h in (9, 12, 15, 18)]
    assert not [e for r in later for e in r.errors]
    with sqlite_db.read() as s:
        done = s.scalars(select(Job.ref).where(Job.status == JobStatus.COMPLETED)).all()
        assert refs["T1-1"] in done and refs["T1-2"] in done
