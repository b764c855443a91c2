"""Who is free now: technicians who can take new work at a moment, or the soonest they can, nearest first.

"Free" is read from the day as it stands: the shift (weekly pattern or exception), absences, the
planned and stored breaks, the jobs on the technician's day (planned or under way, as lead or crew) and the live
status. An on-site job already past its planned end is assumed to need ``OVERRUN_ALLOWANCE`` more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.availability import POSITION_FRESH, absences_overlapping, local_date, local_day_bounds, shift_on
from data.db import Database
from data.errors import NotFound
from data.models.customers import Site
from data.models.jobs import CLOSED_STATUSES, UNDERWAY_STATUSES, Job, JobCrewMember, JobStatus
from data.models.org import Branch
from data.models.workforce import PlannedBreak, Technician, TechnicianStatus
from data.queries.technicians import roster
from optimizer.model import Location
from optimizer.travel import HaversineTravel

OVERRUN_ALLOWANCE = timedelta(minutes=15)
UNDER_WAY = UNDERWAY_STATUSES


@dataclass(frozen=True)
class FreeTechnician:
    """One technician's next free stretch of the day, and how far it is from the site asked about."""

    code: str
    name: str
    branch: str
    status: str
    skills: dict[str, int]
    free_now: bool
    free_from: datetime
    free_until: datetime
    """The next commitment (job, break, absence) or the shift's end."""
    busy_with: str | None
    """What keeps them busy until ``free_from`` (a job ref, "break" or "absence"); None when free now."""
    lat: float
    lon: float
    location: str
    """Where ``lat``/``lon`` come from: "live position", "after J000123" or "home"."""
    drive_minutes: int | None
    """Drive to the ``near`` site from that location (None without a site)."""
    arrival: datetime | None
    timezone: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Busy:
    start: datetime
    end: datetime
    what: str
    location: Location | None


def free_technicians(
    db: Database,
    at: datetime,
    *,
    near_site: str | None = None,
    skills: dict[str, int] | None = None,
    branch: str | None = None,
) -> list[FreeTechnician]:
    """Technicians on shift at ``at`` or later that day, with the skills asked, free soonest first; with
    ``near_site``, soonest at that site first (free time plus the drive), so the nearest of those free now
    leads."""
    travel = HaversineTravel()
    with db.read() as session:
        branches, stmt = roster(session, branch)
        stmt = stmt.where(Technician.active.is_(True))
        target: Location | None = None
        if near_site is not None:
            site = session.scalar(select(Site).where(Site.code == near_site))
            if site is None:
                raise NotFound(f"site {near_site} does not exist")
            target = Location(site.lat, site.lon)
        rows: list[FreeTechnician] = []
        for tech in session.scalars(stmt):
            levels = tech.skill_levels()
            if any(levels.get(code, 0) < level for code, level in (skills or {}).items()):
                continue
            row = _free_row(session, tech, branches[tech.branch_id], at, target, travel)
            if row is not None:
                rows.append(row)
    if target is not None:
        rows.sort(key=lambda r: (r.arrival or r.free_from, r.drive_minutes or 0, r.code))
    else:
        rows.sort(key=lambda r: (r.free_from, r.code))
    return rows


def _free_row(
    session: Session, tech: Technician, branch: Branch, at: datetime, target: Location | None, travel: HaversineTravel
) -> FreeTechnician | None:
    if tech.status is TechnicianStatus.ABSENT:
        return None
    day = local_date(at, branch.timezone)
    shift = shift_on(session, tech, day, branch.timezone)
    if shift is None or at >= shift.end:
        return None
    busy = _commitments(session, tech, day, branch.timezone, at)
    moment = max(at, shift.start)
    busy_with: str | None = None
    changed = True
    while changed:
        changed = False
        for item in busy:
            if item.start <= moment < item.end:
                moment, busy_with, changed = item.end, item.what, True
    if moment >= shift.end:
        return None
    until = min((b.start for b in busy if b.start >= moment), default=shift.end)
    until = min(until, shift.end)
    free_now = moment == at
    lat, lon, where = tech.home_lat, tech.home_lon, "home"
    fresh = tech.last_seen_at is not None and abs(at - tech.last_seen_at) <= POSITION_FRESH
    before = [b for b in busy if b.location is not None and b.end <= moment]
    if free_now and fresh and tech.last_lat is not None and tech.last_lon is not None:
        lat, lon, where = tech.last_lat, tech.last_lon, "live position"
    elif before:
        last = max(before, key=lambda b: b.end)
        assert last.location is not None
        lat, lon, where = last.location.lat, last.location.lon, f"after {last.what}"
    drive: int | None = None
    arrival: datetime | None = None
    if target is not None:
        seconds = travel.seconds(Location(lat, lon), target)
        drive = round(seconds / 60)
        arrival = moment + timedelta(seconds=seconds)
    return FreeTechnician(
        code=tech.code,
        name=tech.name,
        branch=branch.code,
        status=tech.status.value,
        skills=dict(sorted(tech.skill_levels().items())),
        free_now=free_now,
        free_from=moment,
        free_until=until,
        busy_with=None if free_now else busy_with,
        lat=lat,
        lon=lon,
        location=where,
        drive_minutes=drive,
        arrival=arrival,
        timezone=branch.timezone,
    )


def _commitments(session: Session, tech: Technician, day: Any, tz: str, at: datetime) -> list[_Busy]:
    """The day's jobs not done yet, stored breaks and absences, as busy intervals."""
    start, end = local_day_bounds(day, tz)
    out: list[_Busy] = []
    crew_jobs = select(JobCrewMember.job_id).where(JobCrewMember.technician_id == tech.id)
    jobs = session.execute(
        select(Job, Site.lat, Site.lon)
        .join(Site, Site.id == Job.site_id)
        .where(
            or_(Job.technician_id == tech.id, Job.id.in_(crew_jobs)),
            Job.planned_start >= start,
            Job.planned_start < end,
            Job.status.not_in(CLOSED_STATUSES),
        )
    ).all()
    for job, lat, lon in jobs:
        assert job.planned_start is not None
        job_end = job.planned_end or job.planned_start + timedelta(minutes=job.duration_minutes)
        began = job.actual_start or job.arrived_at
        if job.status in UNDER_WAY:
            if began is not None:
                job_end = max(job_end, began + timedelta(minutes=job.duration_minutes))
            if job.status is not JobStatus.EN_ROUTE and job_end <= at:
                job_end = at + OVERRUN_ALLOWANCE  # still on site past its end: not free yet
        job_start = min(job.planned_start, began) if began is not None else job.planned_start
        if job.status in UNDER_WAY:
            job_start = min(job_start, at)
        out.append(_Busy(job_start, job_end, job.ref, Location(lat, lon)))
    for placed in session.scalars(
        select(PlannedBreak).where(
            PlannedBreak.technician_id == tech.id, PlannedBreak.starts_at >= start, PlannedBreak.starts_at < end
        )
    ):
        out.append(_Busy(placed.starts_at, placed.ends_at, "break", None))
    for absence in absences_overlapping(session, tech.id, start, end):
        out.append(_Busy(absence.starts_at, absence.ends_at, f"absence ({absence.kind.value})", None))
    return sorted(out, key=lambda b: b.start)
