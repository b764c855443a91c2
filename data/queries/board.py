"""Read models for the schedule board, the map and the calendar, each built in a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.availability import break_window, local_day_bounds
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.maps.layer import BaseLayer
from data.models.customers import Customer, Site
from data.models.jobs import OPEN_STATUSES, Job, JobCrewMember, JobStatus, JobType
from data.models.org import Branch
from data.models.workforce import PlannedBreak, Technician
from data.queries.branch_maps import branch_layer
from data.queries.roster import absences_on, roster_on
from optimizer.model import Location
from optimizer.travel import HaversineTravel

UTC = ZoneInfo("UTC")
TRAVEL = HaversineTravel()


@dataclass(frozen=True)
class BoardJob:
    """One planned visit on a technician's row, with the drive that precedes it."""

    id: int
    ref: str
    customer: str
    summary: str
    type: str
    status: str
    priority: int
    start: datetime  # UTC
    end: datetime
    lat: float
    lon: float
    travel_minutes: int  # planned drive from the previous stop (or home) to this site
    pinned: bool = False
    sla_due: datetime | None = None
    version: int = 1  # for optimistic concurrency: actions on this block pass it to the service

    @property
    def late(self) -> bool:
        """The plan finishes the visit after its SLA is due."""
        return self.sla_due is not None and self.end > self.sla_due


@dataclass(frozen=True)
class Interval:
    """A stretch of a technician's day that is not work: an absence or a break."""

    start: datetime
    end: datetime
    kind: str  # leave, sick, training, break


@dataclass(frozen=True)
class BoardTechnician:
    id: int
    code: str
    name: str
    status: str
    shift_start: datetime | None  # None: not rostered that day
    shift_end: datetime | None
    absences: tuple[Interval, ...] = ()
    breaks: tuple[Interval, ...] = ()
    jobs: tuple[BoardJob, ...] = ()

    @property
    def planned_minutes(self) -> int:
        return sum(int((j.end - j.start).total_seconds() // 60) + j.travel_minutes for j in self.jobs)


@dataclass(frozen=True)
class BoardDay:
    branch_code: str
    branch_name: str
    timezone: str
    day: date
    day_start: datetime  # UTC instant of local midnight
    day_end: datetime
    technicians: tuple[BoardTechnician, ...]
    unassigned: int = 0  # open jobs of the branch with no technician


@dataclass(frozen=True)
class MapTechnician:
    id: int
    code: str
    name: str
    status: str
    lat: float  # last reported position, or home when never seen
    lon: float
    seen_at: datetime | None
    route: tuple[tuple[float, float], ...] = ()  # today's planned stops in order (lat, lon)
    route_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapJob:
    id: int
    ref: str
    customer: str
    status: str
    priority: int
    lat: float
    lon: float
    technician_id: int | None
    address: str = ""


@dataclass(frozen=True)
class MapHit:
    """What `/` on the map found: a job (its ref) or a technician (their code), and where to centre."""

    kind: str  # "job" or "technician"
    key: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2

    def padded(self, fraction: float) -> Bounds:
        dlat = max(self.north - self.south, 0.005) * fraction
        dlon = max(self.east - self.west, 0.01) * fraction
        return Bounds(self.south - dlat, self.west - dlon, self.north + dlat, self.east + dlon)

    @classmethod
    def around(cls, points: Iterable[tuple[float, float]]) -> Bounds | None:
        pts = list(points)
        if not pts:
            return None
        lats = [p[0] for p in pts]
        lons = [p[1] for p in pts]
        return cls(min(lats), min(lons), max(lats), max(lons))


@dataclass(frozen=True)
class MapState:
    branch_code: str
    branch_name: str
    bounds: Bounds
    depot: tuple[float, float]
    area: tuple[tuple[float, float], ...] = ()  # service-area outline (lat, lon), closed when present
    technicians: tuple[MapTechnician, ...] = ()
    jobs: tuple[MapJob, ...] = ()
    base: BaseLayer | None = None  # the branch's imported map (coast, roads, names), when it has one

    def find(self, text: str) -> MapHit | None:
        """A job by ref, a technician by code or name, a job by customer or address, in that order."""
        needle = text.strip().casefold()
        if not needle:
            return None
        for job in self.jobs:
            if job.ref.casefold() == needle:
                return MapHit("job", job.ref, job.lat, job.lon)
        for tech in self.technicians:
            if tech.code.casefold() == needle or needle in tech.name.casefold():
                return MapHit("technician", tech.code, tech.lat, tech.lon)
        for field_of in (lambda j: j.customer, lambda j: j.address):
            for job in self.jobs:
                if needle in field_of(job).casefold():
                    return MapHit("job", job.ref, job.lat, job.lon)
        return None


@dataclass(frozen=True)
class CalendarEntry:
    id: int
    ref: str
    customer: str
    type: str
    status: str
    priority: int
    start: datetime
    end: datetime
    technician_code: str | None
    recurring: bool  # contract maintenance: a visit that comes back on a schedule


@dataclass(frozen=True)
class DaySummary:
    jobs: int = 0
    p1: int = 0
    minutes: int = 0
    absent: int = 0  # technicians (or the technician) absent some of the day


@dataclass(frozen=True)
class CalendarData:
    title: str
    timezone: str
    start: date  # first day shown
    end: date  # day after the last day shown
    technicians: int
    entries: tuple[CalendarEntry, ...] = ()
    absences: tuple[tuple[str, Interval], ...] = ()  # (technician code, interval)
    days: dict[date, DaySummary] = field(default_factory=dict)


# --- shared pieces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BranchRow:
    """The branch fields the read models need, copied out so they outlive the read session."""

    id: int
    code: str
    name: str
    timezone: str
    depot_lat: float
    depot_lon: float
    service_area: dict[str, object] | None


def _copy_branch(branch: Branch) -> _BranchRow:
    return _BranchRow(
        branch.id,
        branch.code,
        branch.name,
        branch.timezone,
        branch.depot_lat,
        branch.depot_lon,
        branch.service_area,
    )


def _branch(session: Session, branch_code: str) -> _BranchRow:
    branch = session.scalar(select(Branch).where(Branch.code == branch_code))
    if branch is None:
        raise NotFound(f"branch {branch_code!r} does not exist")
    return _copy_branch(branch)


def travel_minutes(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Planned drive in whole minutes between two points (haversine with the optimizer's road factor)."""
    return round(TRAVEL.seconds(Location(*a), Location(*b)) / 60)


def place_break(
    start: datetime, end: datetime, minutes: int, busy: Sequence[tuple[datetime, datetime]]
) -> Interval | None:
    """Where the break of a working day falls when no applied plan stored one: mid-day, or the first free
    stretch after it, inside the window the planner allows (`availability.break_window`); none on short days."""
    window = break_window(start, end, minutes)
    if window is None:
        return None
    earliest, latest = window
    length = timedelta(minutes=minutes)
    middle = min(max(start + (end - start) / 2 - length / 2, earliest), latest)
    for first in (middle, earliest):  # from mid-day on; else the first free stretch of the window
        candidate = _first_free(first, length, busy)
        if candidate <= latest:
            break
    else:  # no free stretch in the window: drawn where it is due at the latest, over the work crowding it out
        candidate = latest
    return Interval(candidate, candidate + length, "break")


def _first_free(start: datetime, length: timedelta, busy: Sequence[tuple[datetime, datetime]]) -> datetime:
    candidate = start
    for busy_start, busy_end in sorted(busy):
        if busy_end <= candidate:
            continue
        if busy_start >= candidate + length:
            break
        candidate = max(candidate, busy_end)
    return candidate


def _planned_breaks_for(
    session: Session, technician_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """Breaks the applied plan placed (``data.planning.apply_plan``), per technician."""
    out: dict[int, list[Interval]] = defaultdict(list)
    if not technician_ids:
        return out
    rows = session.execute(
        select(PlannedBreak.technician_id, PlannedBreak.starts_at, PlannedBreak.ends_at)
        .where(
            PlannedBreak.technician_id.in_(technician_ids),
            PlannedBreak.starts_at < end,
            PlannedBreak.ends_at > start,
        )
        .order_by(PlannedBreak.starts_at)
    )
    for tid, s, e in rows:
        out[tid].append(Interval(s, e, "break"))
    return out


# --- schedule board ------------------------------------------------------------------------------


def board_day(db: Database, branch_code: str, day: date, technician_ids: Iterable[int] | None = None) -> BoardDay:
    """Every active technician of the branch with their shift, absences, break and planned jobs on a local day.

    With `technician_ids`, only those technicians are built (how the board refreshes the rows an event touched).
    """
    with db.read() as session:
        branch = _branch(session, branch_code)
        day_start, day_end = local_day_bounds(day, branch.timezone)
        tech_stmt = (
            select(
                Technician.id,
                Technician.code,
                Technician.name,
                Technician.status,
                Technician.home_lat,
                Technician.home_lon,
            )
            .where(Technician.branch_id == branch.id, Technician.active.is_(True))
            .order_by(Technician.code)
        )
        wanted = None if technician_ids is None else sorted(set(technician_ids))
        if wanted is not None:
            tech_stmt = tech_stmt.where(Technician.id.in_(wanted))
        techs = list(session.execute(tech_stmt))
        ids = [t.id for t in techs]
        roster = roster_on(session, ids, day, branch.timezone)
        planned_breaks = _planned_breaks_for(session, ids, day_start, day_end)
        columns = (
            Job.id,
            Job.ref,
            Customer.name,
            Job.summary,
            Job.type,
            Job.status,
            Job.priority,
            Job.planned_start,
            Job.planned_end,
            Site.lat,
            Site.lon,
            Job.pinned,
            Job.sla_due,
            Job.version,
        )
        live = (
            Job.branch_id == branch.id,
            Job.technician_id.is_not(None),
            Job.planned_start.is_not(None),
            Job.planned_start < day_end,
            Job.planned_end > day_start,
            Job.status != JobStatus.CANCELLED,
        )
        job_stmt = (
            select(*columns, Job.technician_id.label("lane"))
            .join(Site, Site.id == Job.site_id)
            .join(Customer, Customer.id == Job.customer_id)
            .where(*live)
        )
        if wanted is not None:
            job_stmt = job_stmt.where(Job.technician_id.in_(wanted))
        # A crew job holds every member's lane too (the lead is the job's own technician).
        seat_stmt = (
            select(*columns, JobCrewMember.technician_id.label("lane"))
            .join(Site, Site.id == Job.site_id)
            .join(Customer, Customer.id == Job.customer_id)
            .join(JobCrewMember, JobCrewMember.job_id == Job.id)
            .where(*live, JobCrewMember.technician_id.in_(ids), JobCrewMember.technician_id != Job.technician_id)
        )
        jobs_by_tech: dict[int, list[Any]] = defaultdict(list)
        for row in [*session.execute(job_stmt), *session.execute(seat_stmt)]:
            jobs_by_tech[row.lane].append(row)
        for lane in jobs_by_tech.values():
            lane.sort(key=lambda r: r.planned_start)
        unassigned = 0
        if wanted is None:
            unassigned = len(
                session.scalars(
                    select(Job.id).where(
                        Job.branch_id == branch.id,
                        Job.technician_id.is_(None),
                        Job.status.in_(list(OPEN_STATUSES)),
                    )
                ).all()
            )
    rows = []
    for t in techs:
        previous = (t.home_lat, t.home_lon)
        jobs: list[BoardJob] = []
        for r in jobs_by_tech[t.id]:
            jobs.append(
                BoardJob(
                    id=r.id,
                    ref=r.ref,
                    customer=r.name,
                    summary=r.summary,
                    type=str(r.type),
                    status=str(r.status),
                    priority=r.priority,
                    start=r.planned_start,
                    end=r.planned_end,
                    lat=r.lat,
                    lon=r.lon,
                    travel_minutes=travel_minutes(previous, (r.lat, r.lon)),
                    pinned=r.pinned,
                    sla_due=r.sla_due,
                    version=r.version,
                )
            )
            previous = (r.lat, r.lon)
        day_of = roster[t.id]
        shift, working = day_of.shift, day_of.working
        breaks: tuple[Interval, ...] = ()
        if t.id in planned_breaks:
            breaks = tuple(planned_breaks[t.id])  # where the applied plan put them
        elif shift is not None and working is not None:
            busy = [(j.start - timedelta(minutes=j.travel_minutes), j.end) for j in jobs]
            placed = place_break(working[0], working[1], shift.break_minutes, busy)
            breaks = (placed,) if placed else ()
        rows.append(
            BoardTechnician(
                id=t.id,
                code=t.code,
                name=t.name,
                status=str(t.status),
                shift_start=shift.start if shift else None,
                shift_end=shift.end if shift else None,
                absences=tuple(Interval(a.starts_at, a.ends_at, a.kind) for a in day_of.absences),
                breaks=breaks,
                jobs=tuple(jobs),
            )
        )
    return BoardDay(
        branch_code=branch.code,
        branch_name=branch.name,
        timezone=branch.timezone,
        day=day,
        day_start=day_start,
        day_end=day_end,
        technicians=tuple(rows),
        unassigned=unassigned,
    )


def technicians_of_jobs(db: Database, job_ids: Iterable[int]) -> dict[int, int | None]:
    """The technician each job is assigned to now (None when unassigned), for routing live updates."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    with db.read() as session:
        return {jid: tid for jid, tid in session.execute(select(Job.id, Job.technician_id).where(Job.id.in_(ids)))}


# --- map -----------------------------------------------------------------------------------------


def _area_outline(service_area: dict[str, object] | None) -> tuple[tuple[float, float], ...]:
    """The first ring of a GeoJSON Polygon as (lat, lon) pairs; empty when absent or malformed."""
    if not service_area or service_area.get("type") != "Polygon":
        return ()
    coords = service_area.get("coordinates")
    if not isinstance(coords, list) or not coords or not isinstance(coords[0], list):
        return ()
    ring = []
    for point in coords[0]:
        if isinstance(point, list | tuple) and len(point) >= 2:
            lon, lat = float(point[0]), float(point[1])
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                ring.append((lat, lon))
    return tuple(ring)


def map_state(db: Database, branch_code: str, day: date) -> MapState:
    """Technicians where they were last seen, today's open jobs by priority and each technician's route."""
    with db.read() as session:
        branch = _branch(session, branch_code)
        day_start, day_end = local_day_bounds(day, branch.timezone)
        techs = list(
            session.execute(
                select(
                    Technician.id,
                    Technician.code,
                    Technician.name,
                    Technician.status,
                    Technician.last_lat,
                    Technician.last_lon,
                    Technician.last_seen_at,
                    Technician.home_lat,
                    Technician.home_lon,
                )
                .where(Technician.branch_id == branch.id, Technician.active.is_(True))
                .order_by(Technician.code)
            )
        )
        open_statuses = [s for s in OPEN_STATUSES]
        # Open jobs planned today, plus every unassigned open job (they wait for someone).
        job_rows = list(
            session.execute(
                select(
                    Job.id,
                    Job.ref,
                    Customer.name,
                    Job.status,
                    Job.priority,
                    Site.lat,
                    Site.lon,
                    Job.technician_id,
                    Job.planned_start,
                    Site.address,
                    Site.city,
                )
                .join(Site, Site.id == Job.site_id)
                .join(Customer, Customer.id == Job.customer_id)
                .where(
                    Job.branch_id == branch.id,
                    Job.status.in_(open_statuses),
                    (Job.technician_id.is_(None)) | ((Job.planned_start < day_end) & (Job.planned_end > day_start)),
                )
                .order_by(Job.planned_start, Job.id)
            )
        )
        # Routes include the day's finished visits too, so a route reads as the whole day.
        route_rows = list(
            session.execute(
                select(Job.technician_id, Site.lat, Site.lon, Job.ref)
                .join(Site, Site.id == Job.site_id)
                .where(
                    Job.branch_id == branch.id,
                    Job.technician_id.is_not(None),
                    Job.planned_start < day_end,
                    Job.planned_end > day_start,
                    Job.status != JobStatus.CANCELLED,
                )
                .order_by(Job.technician_id, Job.planned_start)
            )
        )
        site_points = [
            (lat, lon) for lat, lon in session.execute(select(Site.lat, Site.lon).where(Site.branch_id == branch.id))
        ]
        depot = (branch.depot_lat, branch.depot_lon)
        area = _area_outline(branch.service_area)
        name, code = branch.name, branch.code
    routes: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    for tid, lat, lon, ref in route_rows:
        if tid is not None:
            routes[tid].append((lat, lon, ref))
    map_techs = []
    for t in techs:
        seen = t.last_lat is not None and t.last_lon is not None
        stops = routes.get(t.id, [])
        map_techs.append(
            MapTechnician(
                id=t.id,
                code=t.code,
                name=t.name,
                status=str(t.status),
                lat=t.last_lat if seen else t.home_lat,
                lon=t.last_lon if seen else t.home_lon,
                seen_at=t.last_seen_at if seen else None,
                route=tuple((s[0], s[1]) for s in stops),
                route_refs=tuple(s[2] for s in stops),
            )
        )
    jobs = tuple(
        MapJob(
            id=r.id,
            ref=r.ref,
            customer=r.name,
            status=str(r.status),
            priority=r.priority,
            lat=r.lat,
            lon=r.lon,
            technician_id=r.technician_id,
            address=", ".join(p for p in (r.address, r.city) if p),
        )
        for r in job_rows
    )
    points = list(area) or site_points + [(t.lat, t.lon) for t in map_techs] + [depot]
    bounds = Bounds.around(points) or Bounds(depot[0] - 0.05, depot[1] - 0.1, depot[0] + 0.05, depot[1] + 0.1)
    return MapState(
        branch_code=code,
        branch_name=name,
        bounds=bounds.padded(0.05),
        depot=depot,
        area=area,
        technicians=tuple(map_techs),
        jobs=jobs,
        base=branch_layer(db, code),
    )


# --- calendar ------------------------------------------------------------------------------------


def calendar_range(
    db: Database,
    start: date,
    end: date,
    *,
    branch_code: str | None = None,
    technician_code: str | None = None,
    detail: bool = True,
) -> CalendarData:
    """A branch's or one technician's jobs and absences for local days start..end (end exclusive).

    `detail=False` skips the per-job entries and keeps only the per-day summary (the month view of a big branch).
    """
    if (branch_code is None) == (technician_code is None):
        raise InvalidInput("give either a branch code or a technician code", field="scope")
    if end <= start:
        raise InvalidInput(f"calendar range ends ({end}) on or before it starts ({start})", field="end")
    with db.read() as session:
        if technician_code is not None:
            tech = session.scalar(select(Technician).where(Technician.code == technician_code))
            if tech is None:
                raise NotFound(f"technician {technician_code!r} does not exist")
            found = session.get(Branch, tech.branch_id)
            assert found is not None
            branch = _copy_branch(found)
            tech_ids = [tech.id]
            title = f"{tech.name} ({tech.code})"
        else:
            assert branch_code is not None
            branch = _branch(session, branch_code)
            tech_ids = list(
                session.scalars(
                    select(Technician.id).where(Technician.branch_id == branch.id, Technician.active.is_(True))
                )
            )
            title = f"{branch.name} ({branch.code})"
        tz = branch.timezone
        range_start = local_day_bounds(start, tz)[0]
        range_end = local_day_bounds(end, tz)[0]
        codes = {
            tid: code
            for tid, code in session.execute(select(Technician.id, Technician.code).where(Technician.id.in_(tech_ids)))
        }
        where = [
            Job.planned_start.is_not(None),
            Job.planned_start < range_end,
            Job.planned_end > range_start,
            Job.status != JobStatus.CANCELLED,
        ]
        if technician_code is not None:
            where.append(Job.technician_id == tech_ids[0])
        else:
            where.append(Job.branch_id == branch.id)
        if detail:
            rows = list(
                session.execute(
                    select(
                        Job.id,
                        Job.ref,
                        Customer.name,
                        Job.type,
                        Job.status,
                        Job.priority,
                        Job.planned_start,
                        Job.planned_end,
                        Job.technician_id,
                        Job.contract_id,
                    )
                    .join(Customer, Customer.id == Job.customer_id)
                    .where(*where)
                    .order_by(Job.planned_start, Job.id)
                )
            )
        else:
            rows = list(session.execute(select(Job.planned_start, Job.planned_end, Job.priority).where(*where)))
        away = absences_on(session, tech_ids, range_start, range_end)
    zone = ZoneInfo(tz)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    entries: list[CalendarEntry] = []
    for row in rows:
        s, e, prio = (row.planned_start, row.planned_end, row.priority)
        d = s.astimezone(zone).date()
        c = counts[d]
        c[0] += 1
        c[1] += prio == 1
        c[2] += int((e - s).total_seconds() // 60)
        if detail:
            entries.append(
                CalendarEntry(
                    id=row.id,
                    ref=row.ref,
                    customer=row.name,
                    type=str(row.type),
                    status=str(row.status),
                    priority=prio,
                    start=s,
                    end=e,
                    technician_code=codes.get(row.technician_id) if row.technician_id else None,
                    recurring=row.type == JobType.MAINTENANCE and row.contract_id is not None,
                )
            )
    absent_by_day: dict[date, set[int]] = defaultdict(set)
    absences: list[tuple[str, Interval]] = []
    for tid, s, e, kind in sorted(
        ((tid, a.starts_at, a.ends_at, a.kind) for tid, spans in away.items() for a in spans), key=lambda r: r[1]
    ):
        absences.append((codes.get(tid, "?"), Interval(s, e, kind)))
        d = max(start, s.astimezone(zone).date())
        last = min(end - timedelta(days=1), (e - timedelta(microseconds=1)).astimezone(zone).date())
        while d <= last:
            absent_by_day[d].add(tid)
            d += timedelta(days=1)
    days: dict[date, DaySummary] = {}
    d = start
    while d < end:
        c = counts.get(d, [0, 0, 0])
        days[d] = DaySummary(jobs=c[0], p1=c[1], minutes=c[2], absent=len(absent_by_day.get(d, ())))
        d += timedelta(days=1)
    return CalendarData(
        title=title,
        timezone=tz,
        start=start,
        end=end,
        technicians=len(tech_ids),
        entries=tuple(entries),
        absences=tuple(absences),
        days=days,
    )
