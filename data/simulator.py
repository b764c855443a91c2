"""The demo's field: technicians driving to, working on and completing their planned jobs via the field services.

Everything happens through the same services a technician's phone uses (status changes, position
pings, completion reports), with a technician actor per person and a dispatcher actor for the
office's part (dispatching, recording the sick call, unassigning). `step(now)` is deterministic:
the same database and the same sequence of `now` values give the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from data.actor import Actor
from data.availability import local_date, local_day_bounds
from data.db import Database
from data.demo import travel_minutes
from data.errors import Conflict, DispatchError
from data.models.base import utcnow
from data.models.customers import Contact, Site
from data.models.jobs import Job, JobStatus
from data.models.org import Branch, Role, User
from data.models.stock import StockLevel, StockLocation, StockLocationKind
from data.models.workforce import AbsenceKind, Technician, TechnicianStatus
from data.services.attendance import AttendanceState, ClockAct, attendance, record_act
from data.services.completion import (
    CompletionInput,
    FollowUpInput,
    PartInput,
    SignatureInput,
    complete_job,
    incomplete_job,
)
from data.services.jobs import change_status, unassign_job
from data.services.technicians import mark_absent, record_position, set_technician_status
from data.services.timesheets import close_due_timesheets

log = logging.getLogger(__name__)

OFFICE = Actor(login="simulator", role=Role.DISPATCHER, source="simulator")
OPEN_TODAY = (JobStatus.SCHEDULED, JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.PAUSED)
LATE_FACTOR = 1.5  # the late technician's jobs take this much longer than planned
SICK_AT = time(10, 30)  # local time the sick technician calls in


def _roll(text: str) -> int:
    """A stable pseudo-random number from a string (Python's hash() changes between runs)."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass
class Leg:
    """One drive to one job, planned when the technician sets off."""

    job_id: int
    depart_at: datetime
    arrive_at: datetime
    from_lat: float
    from_lon: float
    to_lat: float
    to_lon: float
    travel_minutes: int
    last_ping: datetime

    def position(self, at: datetime) -> tuple[float, float]:
        span = (self.arrive_at - self.depart_at).total_seconds()
        f = 1.0 if span <= 0 else min(1.0, max(0.0, (at - self.depart_at).total_seconds() / span))
        return self.from_lat + (self.to_lat - self.from_lat) * f, self.from_lon + (self.to_lon - self.from_lon) * f


@dataclass
class StepReport:
    now: datetime
    dispatched: int = 0
    en_route: int = 0
    arrived: int = 0
    completed: int = 0
    incomplete: int = 0
    positions: int = 0
    unassigned: int = 0
    timesheets_closed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _TechState:
    id: int
    code: str
    actor: Actor
    tz: str
    lat: float
    lon: float
    free_at: datetime | None = None
    clocked_in: date | None = None  # the local day they clocked in on (and not out yet)


class FieldSimulator:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = utcnow,
        speedup: float = 60.0,
        *,
        start: datetime | None = None,
        ping_seconds: int = 120,
        late_technician: str | None = None,
        sick_technician: str | None = None,
        incidents: bool = True,
    ) -> None:
        if ping_seconds <= 0:
            raise ValueError("ping_seconds must be positive")
        self.db = db
        self.clock = clock
        self.speedup = speedup
        self.start = start
        self.ping = timedelta(seconds=ping_seconds)
        self.late_code = late_technician
        self.sick_code = sick_technician
        self.incidents = incidents
        self._techs: dict[int, _TechState] = {}
        self._legs: dict[int, Leg] = {}
        self._incident_day: date | None = None
        self._sick_done: set[tuple[str, date]] = set()
        self._failed: set[int] = set()
        self._closed_before: date | None = None
        self.last_report: StepReport | None = None

    # -- the day's cast ---------------------------------------------------------------------------

    def _state(self, tech: Technician, tz: str, session_users: dict[int, str]) -> _TechState:
        state = self._techs.get(tech.id)
        if state is None:
            login = session_users.get(tech.id, f"tech-{tech.code.lower()}")
            actor = Actor(login=login, role=Role.TECHNICIAN, source="simulator", technician_id=tech.id)
            lat = tech.last_lat if tech.last_lat is not None else tech.home_lat
            lon = tech.last_lon if tech.last_lon is not None else tech.home_lon
            state = _TechState(tech.id, tech.code, actor, tz, lat, lon)
            self._techs[tech.id] = state
        return state

    def _todays_jobs(self, now: datetime) -> dict[int, list[Job]]:
        """Open jobs per technician planned on the technician's local day of `now`, in planned order."""
        with self.db.read() as s:
            zones = {b.id: b.timezone for b in s.scalars(select(Branch))}
            users = {
                u.technician_id: u.login
                for u in s.scalars(select(User).where(User.technician_id.is_not(None), User.active.is_(True)))
                if u.technician_id is not None
            }
            by_tech: dict[int, list[Job]] = {}
            for branch_id, tz in zones.items():
                lo, hi = local_day_bounds(local_date(now, tz), tz)
                jobs = s.scalars(
                    select(Job)
                    .where(
                        Job.branch_id == branch_id,
                        Job.technician_id.is_not(None),
                        Job.planned_start >= lo,
                        Job.planned_start < hi,
                        Job.status.in_(OPEN_TODAY),
                    )
                    .order_by(Job.planned_start, Job.id)
                )
                for job in jobs:
                    assert job.technician_id is not None
                    by_tech.setdefault(job.technician_id, []).append(job)
            for tech_id in by_tech:
                if tech_id not in self._techs:
                    tech = s.get(Technician, tech_id)
                    if tech is not None and tech.active:
                        self._state(tech, zones[tech.branch_id], users)
            s.expunge_all()
        return {t: jobs for t, jobs in by_tech.items() if t in self._techs}

    def _choose_incidents(self, day: date, tech_ids: list[int]) -> None:
        if self._incident_day is not None or not self.incidents:
            return
        self._incident_day = day
        codes = sorted(self._techs[t].code for t in tech_ids)
        if not codes:
            return
        if self.late_code is None:
            self.late_code = codes[0]
        if self.sick_code is None and len(codes) > 1:
            self.sick_code = codes[-1]

    # -- one step ---------------------------------------------------------------------------------

    def step(self, now: datetime) -> StepReport:
        """Advance the field to `now`, doing everything that has become due, in each technician's order."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        report = StepReport(now)
        jobs = self._todays_jobs(now)
        if jobs:
            any_tz = next(iter(self._techs.values())).tz
            self._choose_incidents(local_date(now, any_tz), list(jobs))
        for tech_id in sorted(jobs, key=lambda t: self._techs[t].code):
            state = self._techs[tech_id]
            until = now
            sick_at = None
            if self.incidents and state.code == self.sick_code and local_date(now, state.tz) == self._incident_day:
                sick_at = datetime.combine(local_date(now, state.tz), SICK_AT, ZoneInfo(state.tz))
                until = min(now, sick_at)
            try:
                self._advance(state, jobs[tech_id], until, report)
                if sick_at is not None and now >= sick_at:
                    self._call_in_sick(state, sick_at, report)
            except DispatchError as e:  # a dispatcher moved something under us: skip, try next step
                report.errors.append(f"{state.code}: {e.message}")
                log.info("simulator: %s: %s", state.code, e.message)
        # Days end at midnight: the end-of-day close runs on the first step of each new local day.
        zone = next(iter(self._techs.values())).tz if self._techs else "UTC"
        if self._closed_before != local_date(now, zone):
            try:
                report.timesheets_closed = len(close_due_timesheets(self.db, OFFICE, now))
                self._closed_before = local_date(now, zone)
            except DispatchError as e:
                report.errors.append(f"timesheets: {e.message}")
        return report

    def _clock(self, state: _TechState, act: ClockAct, at: datetime) -> None:
        """Clock in when the day's first drive starts, out when the last visit ends (or they fall ill)."""
        if (act is ClockAct.CLOCK_IN) != (state.clocked_in is None):
            return
        now = attendance(self.db, state.id)  # the log, not memory: a restarted simulator finds them as they were
        if act is ClockAct.CLOCK_IN:
            if now.state is AttendanceState.OFF:
                record_act(self.db, state.actor, state.id, act, at)
            state.clocked_in = (
                now.last.local_day if now.last and now.state is not AttendanceState.OFF else local_date(at, state.tz)
            )
            return
        if now.state is AttendanceState.ON_BREAK:
            record_act(self.db, state.actor, state.id, ClockAct.BREAK_END, max(at, now.since or at))
        if now.state is not AttendanceState.OFF:
            record_act(self.db, state.actor, state.id, act, max(at, now.since or at))
        state.clocked_in = None

    def _advance(self, state: _TechState, jobs: list[Job], until: datetime, report: StepReport) -> None:
        for job in jobs:
            if job.id in self._failed:
                continue
            try:
                if not self._advance_job(state, job, until, report):
                    return
            except Conflict as e:  # someone changed the job meanwhile: try again next step
                report.errors.append(f"{state.code} {job.ref}: {e.message}")
                return
            except DispatchError as e:  # e.g. the office cancelled it: leave this job alone from now on
                report.errors.append(f"{state.code} {job.ref}: {e.message}")
                log.info("simulator: %s %s: %s", state.code, job.ref, e.message)
                self._failed.add(job.id)
                self._legs.pop(job.id, None)
        if state.free_at is not None:  # every visit of the day is done
            self._clock(state, ClockAct.CLOCK_OUT, state.free_at)

    def _site(self, job: Job) -> Site:
        with self.db.read() as s:
            site = s.get(Site, job.site_id)
            assert site is not None
            s.expunge(site)
            return site

    def _advance_job(self, state: _TechState, job: Job, until: datetime, report: StepReport) -> bool:
        """Move one job as far as `until` allows; True when it is finished and the next one may start."""
        status = job.status
        leg = self._legs.get(job.id)
        if status in (JobStatus.SCHEDULED, JobStatus.DISPATCHED) or (status is JobStatus.EN_ROUTE and leg is None):
            site = self._site(job)
            travel = travel_minutes(state.lat, state.lon, site.lat, site.lon)
            planned = job.planned_start or until
            depart = planned - timedelta(minutes=travel)
            if state.free_at is not None:
                depart = max(depart, state.free_at)
            if status is JobStatus.EN_ROUTE:
                depart = min(depart, until)
            if until < depart:
                return False
            leg = Leg(
                job.id,
                depart,
                depart + timedelta(minutes=travel),
                state.lat,
                state.lon,
                site.lat,
                site.lon,
                travel,
                depart,
            )
            self._legs[job.id] = leg
            self._clock(state, ClockAct.CLOCK_IN, depart)
            if status is JobStatus.SCHEDULED:
                change_status(self.db, OFFICE, job.id, JobStatus.DISPATCHED, at=depart)
                report.dispatched += 1
            if status is not JobStatus.EN_ROUTE:
                change_status(self.db, state.actor, job.id, JobStatus.EN_ROUTE, at=depart)
                report.en_route += 1
            status = JobStatus.EN_ROUTE
        if status is JobStatus.EN_ROUTE:
            assert leg is not None
            stop = min(until, leg.arrive_at)
            at = leg.last_ping + self.ping
            while at < stop:
                lat, lon = leg.position(at)
                record_position(self.db, state.actor, state.id, lat, lon, at)
                report.positions += 1
                leg.last_ping = at
                at += self.ping
            if until < leg.arrive_at:
                return False
            record_position(self.db, state.actor, state.id, leg.to_lat, leg.to_lon, leg.arrive_at)
            report.positions += 1
            change_status(self.db, state.actor, job.id, JobStatus.ON_SITE, at=leg.arrive_at)
            report.arrived += 1
            state.lat, state.lon = leg.to_lat, leg.to_lon
            job.arrived_at = job.arrived_at or leg.arrive_at
            status = JobStatus.ON_SITE
        if status in (JobStatus.ON_SITE, JobStatus.PAUSED):
            arrived = job.arrived_at or job.actual_start or (leg.arrive_at if leg else until)
            factor = LATE_FACTOR if self.incidents and state.code == self.late_code else 1.0
            finish = arrived + timedelta(minutes=math.ceil(job.duration_minutes * factor))
            if until < finish:
                return False
            self._complete(state, job, arrived, finish, leg.travel_minutes if leg else 0)
            report.completed += 1
            state.free_at = finish
            return True
        return True

    def _parts_for(self, state: _TechState, job: Job) -> list[PartInput]:
        """One part from the van for repairs on an asset, when the van holds any."""
        if job.asset_id is None or _roll(job.ref) % 3 == 0:
            return []
        with self.db.read() as s:
            row = s.scalar(
                select(StockLevel)
                .join(StockLocation, StockLocation.id == StockLevel.location_id)
                .where(
                    StockLocation.technician_id == state.id,
                    StockLocation.kind == StockLocationKind.VAN,
                    StockLevel.quantity > 0,
                )
                .order_by(StockLevel.part_id)
                .limit(1)
            )
            if row is None:
                return []
            serials = [f"SIM-{job.ref}-1"] if row.part.serial_tracked else []
            return [PartInput(row.part.sku, 1, serials)]

    def _signer(self, job: Job) -> str:
        with self.db.read() as s:
            contact = s.scalar(
                select(Contact).where(Contact.customer_id == job.customer_id).order_by(Contact.primary.desc()).limit(1)
            )
            return contact.name if contact else "Customer on site"

    def _complete(self, state: _TechState, job: Job, arrived: datetime, finish: datetime, travel: int) -> None:
        fixed = _roll(job.ref) % 8 != 0
        summary = f"Job {job.ref}: {job.summary}. Work done {arrived:%H:%M}-{finish:%H:%M} UTC."
        complete_job(
            self.db,
            state.actor,
            job.id,
            CompletionInput(
                actual_start=arrived,
                actual_end=finish,
                labour_minutes=max(1, int((finish - arrived).total_seconds() // 60)),
                travel_minutes=travel,
                resolution_code="FIXED" if fixed else "NEEDS_FOLLOW_UP",
                first_time_fix=fixed,
                parts=self._parts_for(state, job),
                follow_up=None if fixed else FollowUpInput("Return with the right part", 60),
                signature=SignatureInput(self._signer(job), finish, summary),
                notes="Done, customer happy." if fixed else "Part on order; follow-up visit needed.",
                client_event_id=f"sim-complete-{job.ref}",
            ),
        )

    def _call_in_sick(self, state: _TechState, at: datetime, report: StepReport) -> None:
        day = local_date(at, state.tz)
        if (state.code, day) in self._sick_done:
            return
        self._sick_done.add((state.code, day))
        _, end_of_day = local_day_bounds(day, state.tz)
        mark_absent(self.db, OFFICE, state.id, AbsenceKind.SICK, at, end_of_day, "Called in sick (simulated)")
        # mark_absent sets the live status only when the absence covers the real clock; the simulated one counts here.
        set_technician_status(self.db, OFFICE, state.id, TechnicianStatus.ABSENT)
        self._clock(state, ClockAct.CLOCK_OUT, at)
        with self.db.read() as s:
            lo, hi = local_day_bounds(day, state.tz)
            remaining = list(
                s.scalars(
                    select(Job)
                    .where(
                        Job.technician_id == state.id,
                        Job.planned_start >= lo,
                        Job.planned_start < hi,
                        Job.status.in_(OPEN_TODAY),
                    )
                    .order_by(Job.planned_start)
                )
            )
            s.expunge_all()
        for job in remaining:
            if job.status in (JobStatus.ON_SITE, JobStatus.PAUSED):
                arrived = job.arrived_at or job.actual_start or at
                leg = self._legs.get(job.id)
                incomplete_job(
                    self.db,
                    state.actor,
                    job.id,
                    CompletionInput(
                        actual_start=arrived,
                        actual_end=max(at, arrived),
                        labour_minutes=max(0, int((max(at, arrived) - arrived).total_seconds() // 60)),
                        travel_minutes=leg.travel_minutes if leg else 0,
                        resolution_code="TECHNICIAN_ILL",
                        first_time_fix=False,
                        follow_up=FollowUpInput("Finish the visit (technician fell ill)", job.duration_minutes),
                        notes="Technician fell ill mid-visit.",
                        client_event_id=f"sim-incomplete-{job.ref}",
                    ),
                )
                report.incomplete += 1
                continue
            if job.status is JobStatus.EN_ROUTE:
                change_status(self.db, state.actor, job.id, JobStatus.DISPATCHED, at=at, reason="technician ill")
            unassign_job(self.db, OFFICE, job.id)
            report.unassigned += 1
            self._legs.pop(job.id, None)

    # -- real time --------------------------------------------------------------------------------

    def simulated_now(self, wall_start: datetime, sim_start: datetime) -> datetime:
        return sim_start + (self.clock() - wall_start) * self.speedup

    async def run(self, stop_event: asyncio.Event, tick_seconds: float = 1.0) -> int:
        """Step every tick (in a worker thread) at `speedup` times the clock until `stop_event` is set.

        Returns the number of steps taken; `last_report` holds the latest step's report.
        """
        wall_start = self.clock()
        sim_start = self.start or wall_start
        steps = 0
        while not stop_event.is_set():
            self.last_report = await asyncio.to_thread(self.step, self.simulated_now(wall_start, sim_start))
            steps += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=tick_seconds)
        return steps
