"""The demo company: deterministic, honours its sizes, and plans today within skills, shifts and absences."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.availability import absences_overlapping, local_day_bounds, shift_on
from data.db import Database, open_database
from data.demo import LAND_AREAS, build_demo, on_land, table_fingerprint
from data.errors import InvalidInput
from data.feed import tail
from data.models import Asset, Contract, Customer, Job, JobStatus, JobType, Site, Technician, User
from data.services.jobs import JobDraft, check_skills, create_job
from tests.factories import DISPATCHER

DAY = date(2026, 11, 25)  # a Wednesday
SMALL: dict[str, Any] = {"technicians": 8, "customers": 40, "jobs_today": 30, "history_days": 5, "today": DAY}


def _todays_jobs(session: Session, day: date = DAY) -> list[Job]:
    """Today's jobs are numbered after all history (the demo writes history first)."""
    start, _end = local_day_bounds(day, "Europe/Helsinki")
    history_max = select(func.max(Job.id)).where(Job.planned_start < start)
    cutoff = session.scalar(history_max) or 0
    return list(session.scalars(select(Job).where(Job.id > cutoff).order_by(Job.id)))


def test_same_seed_same_company_and_other_seed_differs(sqlite_db: Database, tmp_path: Path) -> None:
    build_demo(sqlite_db, seed=11, **SMALL)
    again = open_database(f"sqlite:///{tmp_path}/again.sqlite")
    other = open_database(f"sqlite:///{tmp_path}/other.sqlite")
    try:
        build_demo(again, seed=11, **SMALL)
        build_demo(other, seed=12, **SMALL)
        first = table_fingerprint(sqlite_db)
        assert first == table_fingerprint(again)
        assert first["technicians"] != table_fingerprint(other)["technicians"]
    finally:
        again.dispose()
        other.dispose()


def test_default_company_sizes_and_events(sqlite_db: Database) -> None:
    summary = build_demo(sqlite_db, today=DAY)
    assert summary.counts["technicians"] == 25 and summary.counts["customers"] == 300
    assert summary.jobs_today_assigned + summary.jobs_today_unassigned == 150
    assert 10 <= summary.jobs_today_unassigned <= 40, summary.jobs_today_unassigned
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Technician)) == 25
        assert s.scalar(select(func.count()).select_from(Customer)) == 300
        today = _todays_jobs(s)
        assert len(today) == 150
        assert {j.status for j in today} <= {JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.DISPATCHED}
        assert sum(1 for j in today if j.window_start is not None) > 40
        assert sum(1 for j in today if j.sla_due is not None) > 10
        assert any(j.pinned for j in today)
        history = s.scalars(select(Job).where(Job.status == JobStatus.COMPLETED)).all()
        assert len(history) > 1000
        assert all(j.actual_start and j.actual_end and j.arrived_at for j in history)
        assert (s.scalar(select(func.count()).select_from(Job).where(Job.follow_up_of_id.is_not(None))) or 0) > 0
        assets = s.scalars(select(Asset)).all()
        under = [a for a in assets if a.under_warranty(DAY)]
        assert 0 < len(under) < len(assets)
        contracts = s.scalar(select(func.count(func.distinct(Contract.customer_id)))) or 0
        assert 0.3 < contracts / 300 < 0.5
        logins = {u.login: u for u in s.scalars(select(User))}
        assert {"admin", "dana", "dario", "sam"} <= set(logins)
        assert logins["admin"].os_login is not None
    history = {e.type for e in tail(sqlite_db, limit=100_000) if e.actor != "system"}
    # The history days are in the log as the field leaves a live day: clock acts and the visits' statuses.
    assert history == {
        "technician.clocked_in",
        "technician.break_started",
        "technician.break_ended",
        "technician.clocked_out",
        "job.status_changed",
    }
    events = tail(sqlite_db, types=["branch.map_imported", "demo.built"])
    # Each branch gets the shipped map (real OpenStreetMap and GSHHG data), then the company is announced.
    assert [e.type for e in events] == ["branch.map_imported", "branch.map_imported", "demo.built"]
    assert events[-1].payload["counts"]["technicians"] == 25
    assert [e.payload["road_nodes"] > 0 for e in events[:2]] == [True, False]  # the graph covers central Helsinki


def test_assignments_respect_skills_shifts_and_absences(sqlite_db: Database) -> None:
    build_demo(sqlite_db, seed=3, technicians=30, customers=120, jobs_today=160, history_days=0, today=DAY)
    with sqlite_db.read() as s:
        assigned = [j for j in _todays_jobs(s) if j.technician_id is not None]
        assert len(assigned) > 100
        for job in assigned:
            tech = s.get(Technician, job.technician_id)
            assert tech is not None and job.planned_start and job.planned_end
            check_skills(job, tech)  # raises SkillMismatch if the demo planned badly
            shift = shift_on(s, tech, DAY, "Europe/Helsinki")
            assert shift is not None, f"{job.ref} on {tech.code} who has no shift"
            assert shift.contains(job.planned_start, job.planned_end), job.ref
            assert not absences_overlapping(s, tech.id, job.planned_start, job.planned_end), job.ref
            if job.window_start and job.window_end:
                assert job.window_start <= job.planned_start and job.planned_end <= job.window_end
        # No technician is double-booked.
        by_tech: dict[int, list[Job]] = {}
        for job in assigned:
            by_tech.setdefault(job.technician_id or 0, []).append(job)
        for jobs in by_tech.values():
            jobs.sort(key=lambda j: j.planned_start or datetime.min.replace(tzinfo=UTC))
            for a, b in itertools.pairwise(jobs):
                assert a.planned_end and b.planned_start and a.planned_end <= b.planned_start


def test_every_point_is_on_land(sqlite_db: Database) -> None:
    build_demo(sqlite_db, seed=5, technicians=40, customers=200, jobs_today=10, history_days=0, today=DAY)
    with sqlite_db.read() as s:
        points = [(x.lat, x.lon) for x in s.scalars(select(Site))]
        points += [(t.home_lat, t.home_lon) for t in s.scalars(select(Technician))]
    assert len(points) > 200
    assert all(on_land(lat, lon) for lat, lon in points)
    for area in LAND_AREAS:  # the boxes themselves stay inside the Helsinki/Espoo land area
        assert 60.15 < area.lat_min < area.lat_max < 60.26
        assert 24.58 < area.lon_min < area.lon_max < 25.16


def test_with_a_clock_the_morning_has_happened(sqlite_db: Database) -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 11:00 in Helsinki
    build_demo(sqlite_db, seed=9, technicians=12, customers=60, jobs_today=60, history_days=0, today=DAY, now=now)
    with sqlite_db.read() as s:
        today = _todays_jobs(s)
        statuses = {j.status for j in today}
        assert JobStatus.COMPLETED in statuses and JobStatus.ON_SITE in statuses
        active: dict[int, int] = {}
        for job in today:
            if job.status is JobStatus.COMPLETED:
                assert job.planned_end and job.planned_end <= now and job.actual_end and job.actual_end <= now
            if job.status is JobStatus.ON_SITE:
                assert job.planned_start and job.planned_start <= now and job.arrived_at
            if job.status in (JobStatus.ON_SITE, JobStatus.EN_ROUTE):
                active[job.technician_id or 0] = active.get(job.technician_id or 0, 0) + 1
            if job.status in (JobStatus.SCHEDULED, JobStatus.DISPATCHED):
                assert job.planned_start and job.planned_start > now - timedelta(minutes=1)
        assert active and max(active.values()) == 1
        positioned = s.scalars(select(Technician).where(Technician.last_seen_at.is_not(None))).all()
        assert positioned and all(on_land(t.last_lat or 0, t.last_lon or 0) for t in positioned)


def test_refuses_a_database_that_already_holds_a_company(sqlite_db: Database) -> None:
    build_demo(sqlite_db, seed=1, **{**SMALL, "history_days": 0})
    with pytest.raises(InvalidInput, match="already holds a company"):
        build_demo(sqlite_db, seed=1, **SMALL)


@pytest.mark.postgres
def test_demo_on_postgres_leaves_services_working(pg_db: Database) -> None:
    build_demo(pg_db, seed=2, **SMALL)
    with pg_db.read() as s:
        site = s.scalars(select(Site).order_by(Site.id)).first()
        assert site is not None
    job = create_job(pg_db, DISPATCHER, JobDraft(JobType.REPAIR, site.code, "Leak", 30, skills={"plumbing": 1}))
    assert job.ref.startswith("J")  # ids continue after the bulk-inserted rows
