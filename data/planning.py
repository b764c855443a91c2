"""The planning adapter: a branch's day in the database becomes an optimizer Problem, and a Plan comes
back as assignments written through the job services (one transaction, with events).

The optimizer stays pure; this module is the only place that knows both vocabularies
(job ref <-> optimizer job id, technician code <-> optimizer technician id).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from data.actor import Actor
from data.availability import absences_overlapping, break_window, local_day_bounds, shift_on, working_span
from data.config import travel_mode
from data.db import Database
from data.errors import DispatchError, InvalidInput, NotFound
from data.models.base import utcnow
from data.models.customers import Site
from data.models.jobs import (
    AT_SITE_STATUSES,
    NOT_STARTED_STATUSES,
    UNDERWAY_STATUSES,
    Job,
    JobCrewMember,
    JobSkill,
    JobStatus,
)
from data.models.org import Branch
from data.models.workforce import PlannedBreak, Technician, TechnicianSkill
from data.permissions import Permission
from data.queries.branch_maps import branch_road_graph
from data.services.jobs import assign_in, split_crew_skills, unassign_in
from data.uow import UnitOfWork
from optimizer import diff as plan_diff
from optimizer import explain as plan_explain
from optimizer import replan as plan_replan
from optimizer import suggest as plan_suggest
from optimizer.model import (
    Absence,
    BreakRule,
    Dependency,
    Location,
    Plan,
    Problem,
    Route,
    StartedJob,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Visit,
)
from optimizer.model import Job as OptJob
from optimizer.model import Technician as OptTechnician
from optimizer.network import Network
from optimizer.road_travel import RoadTravel
from optimizer.solver import SolutionProgress, solve
from optimizer.solver_process import SolveRunner, call_here
from optimizer.travel import TravelProvider

# A live position older than this is not trusted as "where the technician is now".
POSITION_FRESH = timedelta(minutes=30)


@dataclass
class PlanningDay:
    """One branch's day as the optimizer sees it, plus what is needed to write the answer back."""

    branch_code: str
    timezone: str
    day: date
    problem: Problem
    current: Plan
    job_versions: dict[str, int] = field(default_factory=dict)
    now_offset: int | None = None
    off_shift_assigned: dict[str, str] = field(default_factory=dict)
    """job ref -> code of the technician it is assigned to who is not working that day (it must move)."""

    def at(self, seconds: int) -> datetime:
        return self.problem.horizon_start + timedelta(seconds=seconds)

    def offset(self, when: datetime) -> int:
        return int((when - self.problem.horizon_start).total_seconds())


def _branch(session: Session, code: str | None) -> Branch:
    stmt = select(Branch).order_by(Branch.id)
    if code:
        stmt = stmt.where(Branch.code == code)
    branch = session.scalars(stmt).first()
    if branch is None:
        raise NotFound(f"branch {code} does not exist" if code else "no branch exists yet")
    return branch


def branch_codes(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Branch.code).order_by(Branch.code)))


def branch_travel(db: Database, branch_code: str) -> TravelProvider | None:
    """Road travel on the branch's imported graph (straight-line where it does not reach), unless the
    configuration asks for straight-line only (`DISPATCH_TRAVEL=straight`) or the branch has no graph."""
    if travel_mode() == "straight":
        return None
    graph = branch_road_graph(db, branch_code)
    return RoadTravel(graph) if graph is not None else None


def load_day(db: Database, day: date, branch_code: str | None = None, now: datetime | None = None) -> PlanningDay:
    """Read the branch's technicians on shift and its open jobs for `day` into a Problem and current Plan."""
    with db.read() as session:
        branch = _branch(session, branch_code)
        horizon_start, horizon_end = local_day_bounds(day, branch.timezone)
        offset = lambda when: int((when - horizon_start).total_seconds())  # noqa: E731
        now_off = offset(now) if now is not None and horizon_start <= now < horizon_end else None

        technicians: list[OptTechnician] = []
        techs = session.scalars(
            select(Technician)
            .where(Technician.branch_id == branch.id, Technician.active.is_(True))
            .options(selectinload(Technician.skills).joinedload(TechnicianSkill.skill))
            .order_by(Technician.code)
        ).all()
        codes_by_id = {t.id: t.code for t in techs}
        for tech in techs:
            shift = shift_on(session, tech, day, branch.timezone)
            if shift is None:
                continue
            overtime_end = shift.end + timedelta(minutes=tech.overtime_allowance_minutes)
            absences = absences_overlapping(session, tech.id, shift.start, overtime_end)
            # the optimizer cuts the day (and its overtime) at each absence
            away = [Absence(offset(a.starts_at), offset(a.ends_at)) for a in absences]
            span_start, span_end, back = working_span(shift, [(a.starts_at, a.ends_at) for a in absences])
            if span_end <= span_start:
                continue
            start, end = offset(span_start), offset(span_end)
            available_from = offset(back) if back is not None else None
            home = Location(tech.home_lat, tech.home_lon)
            live_location = None
            if (
                now_off is not None
                and now is not None
                and tech.last_lat is not None
                and tech.last_lon is not None
                and tech.last_seen_at is not None
                and now - tech.last_seen_at <= POSITION_FRESH
            ):
                live_location = Location(tech.last_lat, tech.last_lon)
            if now_off is not None:
                available_from = max(available_from or start, now_off)
            window = break_window(span_start, span_end, shift.break_minutes)
            breaks = []
            if window is not None:
                breaks.append(BreakRule(offset(window[0]), offset(window[1]), shift.break_minutes * 60))
            technicians.append(
                OptTechnician(
                    id=tech.code,
                    start_location=home,
                    end_location=home,
                    shift_start=start,
                    shift_end=end,
                    skills=tech.skill_levels(),
                    breaks=breaks,
                    max_working_minutes=tech.max_daily_minutes,
                    overtime_allowance_minutes=tech.overtime_allowance_minutes,
                    cost_per_hour=float(tech.hourly_cost),
                    overtime_cost_per_hour=float(tech.hourly_cost) * 1.5,
                    available_from=available_from if available_from and available_from > start else None,
                    current_location=live_location,
                    absences=away,
                )
            )
        on_shift = {t.id for t in technicians}

        jobs = session.execute(
            select(Job, Site.lat, Site.lon)
            .join(Site, Site.id == Job.site_id)
            .where(
                Job.branch_id == branch.id,
                or_(
                    and_(
                        Job.status.in_(NOT_STARTED_STATUSES | UNDERWAY_STATUSES),
                        Job.planned_start >= horizon_start,
                        Job.planned_start < horizon_end,
                    ),
                    and_(
                        Job.status == JobStatus.NEW,
                        Job.technician_id.is_(None),
                        Job.visit_number == 1,  # later visits of a multi-day job follow their first
                        or_(Job.window_start.is_(None), Job.window_start < horizon_end),
                        or_(Job.window_end.is_(None), Job.window_end > horizon_start),
                    ),
                ),
            )
            .options(selectinload(Job.required_skills).joinedload(JobSkill.skill))
            .order_by(Job.planned_start, Job.id)
        ).all()

        opt_jobs: list[OptJob] = []
        versions: dict[str, int] = {}
        routes: dict[str, list[Visit]] = {t.id: [] for t in technicians}
        by_code = {t.id: t for t in technicians}
        off_shift: dict[str, str] = {}
        for job, lat, lon in jobs:
            tech_code = codes_by_id.get(job.technician_id) if job.technician_id else None
            windows = []
            if job.window_start or job.window_end:
                w_start = offset(job.window_start) if job.window_start else 0
                w_end = offset(job.window_end) if job.window_end else offset(horizon_end)
                # Windows bound the start of service: the job must also finish inside the customer's window.
                w_end -= job.duration_minutes * 60
                if w_end < w_start:
                    w_end = w_start
                windows.append(TimeWindow(w_start, w_end))
            opt = OptJob(
                id=job.ref,
                location=Location(lat, lon),
                duration=job.duration_minutes * 60,
                required_skills=job.skill_requirements(),
                time_windows=windows,
                priority=job.priority,
                sla_due=offset(job.sla_due) if job.sla_due else None,
                earliest_start=now_off if now_off is not None else None,
            )
            if job.planned_start is not None and job.communicated:
                opt.communicated_start = offset(job.planned_start)
            if tech_code is not None and tech_code in on_shift:
                if job.status in AT_SITE_STATUSES:
                    started_at = offset(job.actual_start or job.arrived_at or job.planned_start or horizon_start)
                    by_code[tech_code].started_jobs.append(
                        StartedJob(job.ref, started_at, max(started_at + opt.duration, now_off or 0))
                    )
                    opt.earliest_start = None
                elif job.status is JobStatus.EN_ROUTE or job.pinned:
                    opt.pinned_technician = tech_code
                    if job.pinned and job.planned_start is not None:
                        opt.pinned_start = offset(job.planned_start)
                        opt.earliest_start = None
                if job.planned_start is not None:
                    start = offset(job.planned_start)
                    routes[tech_code].append(Visit(job.ref, start, start, start + opt.duration, 0))
            elif job.status in UNDERWAY_STATUSES:
                continue  # under way with someone not on shift today: not ours to plan
            elif tech_code is not None:
                off_shift[job.ref] = tech_code
            opt_jobs.append(opt)
            versions[job.ref] = job.version
        _add_dependencies(session, [job for job, _, _ in jobs], opt_jobs, offset, offset(horizon_end))
        _expand_crews(session, [job for job, _, _ in jobs], opt_jobs, routes, by_code, codes_by_id)

    problem = Problem(
        horizon_start=horizon_start,
        technicians=technicians,
        jobs=opt_jobs,
        travel=branch_travel(db, branch.code),
        name=f"{branch.code} {day.isoformat()}",
    )
    current = _plan_from_visits(problem, routes)
    return PlanningDay(branch.code, branch.timezone, day, problem, current, versions, now_off, off_shift)


def _add_dependencies(
    session: Session, rows: list[Job], opt_jobs: list[OptJob], offset: Callable[[datetime], int], day_end: int
) -> None:
    """B after A: a link when both are in the day; otherwise A's real or planned end (plus the gap) is B's
    earliest start, and an A not done nor planned keeps B out of the day (single-day planning)."""
    by_ref = {j.id: j for j in opt_jobs}
    refs = {job.id: job.ref for job in rows}
    for job in rows:
        if job.after_job_id is None or job.ref not in by_ref:
            continue
        opt = by_ref[job.ref]
        gap = job.after_gap_minutes * 60
        before_ref = refs.get(job.after_job_id)
        if before_ref is not None and before_ref in by_ref:
            opt.after = [Dependency(before_ref, gap)]
            continue
        before = session.get(Job, job.after_job_id)
        done_at = None
        if before is not None:
            done_at = before.actual_end if before.status is JobStatus.COMPLETED else before.planned_end
        if before is not None and before.status is JobStatus.CANCELLED:
            continue  # nothing left to wait for
        not_before = offset(done_at) + gap if done_at is not None else day_end
        if opt.pinned_start is None:
            opt.earliest_start = max(opt.earliest_start or 0, not_before)


CREW_SEAT = "#"


def crew_seat_id(ref: str, seat: int) -> str:
    """The optimizer's id of a crew seat: the job's ref for the lead (seat 1), ``REF#2``... for the others."""
    return ref if seat == 1 else f"{ref}{CREW_SEAT}{seat}"


def crew_seat_of(job_id: str) -> tuple[str, int]:
    ref, _, seat = job_id.partition(CREW_SEAT)
    return ref, int(seat) if seat.isdigit() else 1


def _expand_crews(
    session: Session,
    rows: list[Job],
    opt_jobs: list[OptJob],
    routes: dict[str, list[Visit]],
    by_code: dict[str, OptTechnician],
    codes_by_id: dict[int, str],
) -> None:
    """A crew job becomes one optimizer job per seat (``optimizer.model.Job.crew``), seat 1 on the job's own
    technician, the others on its crew members; each seat needs its share of the skills."""
    crew_rows = [job for job in rows if job.crew_size > 1]
    if not crew_rows:
        return
    members: dict[int, dict[int, int]] = {}
    for member in session.scalars(select(JobCrewMember).where(JobCrewMember.job_id.in_([job.id for job in crew_rows]))):
        members.setdefault(member.job_id, {})[member.seat] = member.technician_id
    by_ref = {j.id: k for k, j in enumerate(opt_jobs)}
    for job in crew_rows:
        if job.ref not in by_ref:
            continue
        lead = opt_jobs[by_ref[job.ref]]
        skills = split_crew_skills(lead.required_skills, job.crew_size)
        lead.crew, lead.required_skills = job.ref, skills[0]
        lead_visit = next((v for visits in routes.values() for v in visits if v.job_id == job.ref), None)
        started = next((s for t in by_code.values() for s in t.started_jobs if s.job_id == job.ref), None)
        for seat in range(2, job.crew_size + 1):
            seat_job = copy.copy(lead)
            seat_job.id = crew_seat_id(job.ref, seat)
            seat_job.required_skills = skills[seat - 1]
            seat_job.after = list(lead.after)
            code = codes_by_id.get(members.get(job.id, {}).get(seat, -1))
            if code is not None and code in by_code:
                if started is not None:
                    by_code[code].started_jobs.append(StartedJob(seat_job.id, started.started_at, started.expected_end))
                elif lead.pinned_technician is not None:
                    seat_job.pinned_technician = code
                if lead_visit is not None:
                    routes[code].append(Visit(seat_job.id, lead_visit.start, lead_visit.start, lead_visit.end, 0))
            elif lead.pinned_technician is not None:
                seat_job.pinned_technician = None  # the lead's pin holds the lead's seat only
            opt_jobs.append(seat_job)


def _plan_from_visits(problem: Problem, routes: dict[str, list[Visit]]) -> Plan:
    """The plan as it stands in the database, with travel filled in from the problem's network."""
    network = Network.for_problem(problem)
    jobs = {j.id: j for j in problem.jobs}
    out: list[Route] = []
    for tech in problem.technicians:
        visits = sorted(routes.get(tech.id, []), key=lambda v: v.start)
        here = tech.route_start_location
        timed: list[Visit] = []
        travel_total = 0
        for v in visits:
            travel = network.seconds(here, jobs[v.job_id].location)
            timed.append(Visit(v.job_id, v.start, v.start, v.end, travel))
            travel_total += travel
            here = jobs[v.job_id].location
        end_travel = network.seconds(here, tech.route_end_location)
        start = (timed[0].start - timed[0].travel_seconds) if timed else tech.earliest_departure
        end = (timed[-1].end + end_travel) if timed else start
        out.append(Route(tech.id, start, end, timed, [], travel_total + end_travel, end_travel))
    assigned = {v.job_id for r in out for v in r.visits}
    unassigned = [
        Unassigned(j.id, UnassignedReason.DAY_FULL, "not planned yet") for j in problem.jobs if j.id not in assigned
    ]
    return Plan(problem.horizon_start, out, unassigned)


@dataclass
class Suggestion:
    technician: str
    start: datetime
    added_travel_minutes: float
    lateness_minutes: float
    overtime_minutes: float
    cost: float
    technician_name: str = ""


def suggest_for_job(
    db: Database,
    job_ref: str,
    day: date | None = None,
    now: datetime | None = None,
    k: int = 5,
    *,
    run: SolveRunner = call_here,
) -> list[Suggestion]:
    """Who can take this job: the k cheapest feasible insertions into the branch's current day.

    `run` calls the search (here, or in a `SolverProcess` so that the caller's threads go on)."""
    with db.read() as session:
        job = session.scalar(select(Job).where(Job.ref == job_ref))
        if job is None:
            raise NotFound(f"job {job_ref} does not exist")
        branch = session.get(Branch, job.branch_id)
        assert branch is not None
        branch_code, tz = branch.code, branch.timezone
    if day is None:
        from data.availability import local_date

        day = local_date(job.planned_start or now or utcnow(), tz)
    planning = load_day(db, day, branch_code, now)
    if not any(j.id == job_ref for j in planning.problem.jobs):
        raise InvalidInput(f"is not open for planning on {day.isoformat()}", record=f"job {job_ref}", field="status")
    options = run(
        plan_suggest.suggest, live_problem(planning, job_ref), planning.current, job_ref, k, one_per_technician=True
    )
    with db.read() as session:
        wanted = [o.technician_id for o in options]
        rows = session.execute(select(Technician.code, Technician.name).where(Technician.code.in_(wanted)))
        names = {code: name for code, name in rows}
    return [
        Suggestion(
            technician=o.technician_id,
            technician_name=names.get(o.technician_id, ""),
            start=planning.at(o.start),
            added_travel_minutes=round(o.added_travel_seconds / 60, 1),
            lateness_minutes=round(o.lateness_seconds / 60, 1),
            overtime_minutes=round(o.overtime_seconds / 60, 1),
            cost=round(o.cost, 2),
        )
        for o in options
    ]


def live_problem(planning: PlanningDay, keep_hard: str) -> Problem:
    """During the day, work already on someone's route may run late: its window becomes a soft deadline
    (lateness priced, not forbidden), so one late appointment does not hide that technician from every
    suggestion. The job being placed keeps its hard windows."""
    problem = copy.deepcopy(planning.problem)
    planned = set(planning.current.assignment())
    for job in problem.jobs:
        if job.id == keep_hard or job.id not in planned or not job.time_windows:
            continue
        opens = min(w.start for w in job.time_windows)
        closes = max(w.end for w in job.time_windows)
        job.earliest_start = max(job.earliest_start or opens, opens)
        job.sla_due = closes if job.sla_due is None else min(job.sla_due, closes)
        job.sla_hard = False
        job.time_windows = []
    return problem


def solve_warm(
    planning: PlanningDay,
    time_limit: float,
    on_progress: Callable[[SolutionProgress], None] | None = None,
    run: SolveRunner = call_here,
) -> Plan:
    """Optimise the day from the plan as it stands, pricing moves of appointments customers were told."""
    return run(
        solve,
        planning.problem,
        time_limit=time_limit,
        warm_start=planning.current,
        churn_reference=planning.current,
        on_solution=on_progress,
    )


def schedule_day(
    db: Database,
    day: date,
    branch_code: str | None = None,
    *,
    now: datetime | None = None,
    time_limit: float = 10.0,
    on_progress: Callable[[SolutionProgress], None] | None = None,
) -> tuple[PlanningDay, Plan]:
    """Optimise the branch's day, warm-started from the plan as it stands."""
    planning = load_day(db, day, branch_code, now)
    if not planning.problem.technicians or not planning.problem.jobs:
        return planning, planning.current
    return planning, solve_warm(planning, time_limit, on_progress)


SCOPES = ("minimal", "branch")


def _minimal_problem(planning: PlanningDay, absent: str) -> tuple[Problem, list[Unassigned]]:
    """Only what must move may move: the absent technician's jobs. Every other planned job stays with its
    technician (it may shift in time to make room, never be dropped for a less urgent one), and work that
    was not planned before stays out of this re-plan (``--scope branch`` re-optimises everything)."""
    problem = copy.deepcopy(planning.problem)
    placed = planning.current.assignment()
    must_move = {ref for ref, code in planning.off_shift_assigned.items() if code == absent}
    left_out = [u for u in planning.current.unassigned if u.job_id not in placed and u.job_id not in must_move]
    out_ids = {u.job_id for u in left_out}
    problem.jobs = [j for j in problem.jobs if j.id not in out_ids]
    for job in problem.jobs:
        tech_id = placed[job.id][0] if job.id in placed else absent
        if tech_id != absent and job.pinned_technician is None:
            job.pinned_technician = tech_id
    return problem, left_out


def replan_day(
    db: Database,
    day: date,
    branch_code: str | None,
    change: plan_replan.Change | None,
    *,
    now: datetime | None = None,
    time_limit: float = 5.0,
    scope: str = "minimal",
    run: SolveRunner = call_here,
) -> tuple[PlanningDay, Plan, plan_diff.PlanDiff]:
    """Re-plan the rest of the day after a change, keeping started work and told appointments.

    ``scope="minimal"`` (the default) after an absence moves only the absent technician's jobs;
    ``scope="branch"`` re-optimises the whole branch's day. `run` calls the search (here, or in a
    `SolverProcess`)."""
    if scope not in SCOPES:
        raise InvalidInput(f"is {scope!r}; use one of {', '.join(SCOPES)}", record="re-plan", field="scope")
    planning = load_day(db, day, branch_code, now)
    if change is None:
        new_plan = solve_warm(planning, time_limit, run=run)
    elif scope == "minimal" and isinstance(change, plan_replan.TechnicianAbsent):
        problem, left_out = _minimal_problem(planning, change.technician_id)
        new_plan = run(plan_replan.replan, problem, planning.current, change, time_limit=time_limit)
        new_plan.unassigned = [*new_plan.unassigned, *left_out]
    else:
        # Started work comes from the jobs' real statuses (load_day), not from planned times.
        new_plan = run(plan_replan.replan, planning.problem, planning.current, change, time_limit=time_limit)
    return planning, new_plan, plan_diff.diff(planning.current, new_plan)


def explain_plan(planning: PlanningDay, plan: Plan) -> plan_explain.Explanation:
    return plan_explain.explain(planning.problem, plan)


@dataclass
class ApplyResult:
    assigned: list[str]
    moved: list[str]
    unassigned: list[str]
    warnings: list[str]
    skipped: list[str] = field(default_factory=list)
    """'J1: why' for each change no longer valid (changed meanwhile, now en route, ...): not written."""


def _store_breaks(uow: UnitOfWork, planning: PlanningDay, plan: Plan) -> None:
    """The plan's break times replace the day's stored ones, so the board draws what the plan counted on."""
    s = uow.session
    day_start, day_end = local_day_bounds(planning.day, planning.timezone)
    codes = [r.technician_id for r in plan.routes]
    ids: dict[str, int] = {
        code: tid for code, tid in s.execute(select(Technician.code, Technician.id).where(Technician.code.in_(codes)))
    }
    if not ids:
        return
    s.execute(
        delete(PlannedBreak).where(
            PlannedBreak.technician_id.in_(list(ids.values())),
            PlannedBreak.starts_at >= day_start,
            PlannedBreak.starts_at < day_end,
        )
    )
    for route in plan.routes:
        tech_id = ids.get(route.technician_id)
        if tech_id is None or not route.visits:
            continue
        for placed in route.breaks:
            s.add(
                PlannedBreak(
                    technician_id=tech_id, starts_at=planning.at(placed.start), ends_at=planning.at(placed.end)
                )
            )


def _store_crews(uow: UnitOfWork, planning: PlanningDay, plan: Plan, result: ApplyResult) -> None:
    """The crew seats of each crew job, as the plan has them (a job left out loses its crew)."""
    crew_refs = {j.crew for j in planning.problem.jobs if j.crew is not None}
    if not crew_refs:
        return
    s = uow.session
    seats: dict[str, dict[int, str]] = {ref: {} for ref in crew_refs}
    for job_id, (tech, _) in plan.assignment().items():
        ref, seat = crew_seat_of(job_id)
        if ref in seats and seat > 1:
            seats[ref][seat] = tech
    skipped = {line.split(":", 1)[0] for line in result.skipped}
    codes = {c: i for c, i in s.execute(select(Technician.code, Technician.id))}
    for job in s.scalars(select(Job).where(Job.ref.in_(sorted(crew_refs)))):
        if job.ref in skipped:
            continue
        s.execute(delete(JobCrewMember).where(JobCrewMember.job_id == job.id))
        if job.technician_id is None:
            continue
        for seat, code in sorted(seats[job.ref].items()):
            s.add(JobCrewMember(job_id=job.id, seat=seat, technician_id=codes[code]))


def apply_plan(db: Database, actor: Actor, planning: PlanningDay, plan: Plan) -> ApplyResult:
    """Write what of the plan is still valid as one transaction, and report the rest (``skipped``):
    a job changed meanwhile by someone else, or no longer movable, does not cost the whole proposal."""
    actor.require_write("apply a plan", Permission.REPLAN)
    before = planning.current.assignment()
    after = plan.assignment()
    started = {s.job_id for t in planning.problem.technicians for s in t.started_jobs}
    result = ApplyResult([], [], [], [])
    with UnitOfWork(db, actor) as uow:
        for job_id, (tech, visit) in sorted(after.items(), key=lambda kv: kv[1][1].start):
            if job_id in started or crew_seat_of(job_id)[1] > 1:
                continue
            old = before.get(job_id)
            if old is not None and old[0] == tech and old[1].start == visit.start:
                continue
            try:
                with uow.session.begin_nested():
                    res = assign_in(
                        uow,
                        job_id,
                        tech,
                        planning.at(visit.start),
                        expected_version=planning.job_versions.get(job_id),
                        force=True,  # the plan's own pins were reconciled (optimizer.conflicts)
                        reassign=True,  # moving jobs is the plan's point; each is held to the version planned
                    )
            except DispatchError as exc:
                result.skipped.append(f"{job_id}: {exc}")
                continue
            (result.moved if old is not None else result.assigned).append(job_id)
            result.warnings += [f"{job_id}: {w}" for w in res.warnings if not w.startswith("overlaps")]
        for job_id in before:
            if job_id not in after and job_id not in started and crew_seat_of(job_id)[1] == 1:
                try:
                    with uow.session.begin_nested():
                        unassign_in(uow, job_id, planning.job_versions.get(job_id))
                except DispatchError as exc:
                    result.skipped.append(f"{job_id}: {exc}")
                    continue
                result.unassigned.append(job_id)
        _store_breaks(uow, planning, plan)
        _store_crews(uow, planning, plan, result)
        uow.emit(
            "plan.applied",
            "branch",
            planning.branch_code,
            {
                "day": planning.day,
                "assigned": result.assigned,
                "moved": result.moved,
                "unassigned": result.unassigned,
                "skipped": result.skipped,
                "travel_seconds": plan.objective.travel_seconds,
            },
        )
    return result
