"""JSON in and out: load a problem (schema-checked, then rule-checked), dump and load plans.

Every error names the record (job or technician id) and the field, e.g.
``job J017: time_windows[0].end is before start``, and is raised as ``ProblemError``.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from optimizer.errors import PlanError, ProblemError
from optimizer.model import (
    Absence,
    BreakRule,
    Conflict,
    Dependency,
    Job,
    Location,
    ObjectiveBreakdown,
    PlacedBreak,
    Plan,
    Problem,
    Route,
    SolveStats,
    StartedJob,
    Technician,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Visit,
    Weights,
)
from optimizer.travel import HaversineTravel, provider_from_config

SCHEMA_DIR = Path(__file__).parent / "schema"
PROBLEM_FORMAT = "dispatch.problem/1"
PLAN_FORMAT = "dispatch.plan/1"


@cache
def problem_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "problem.schema.json").read_text())


@cache
def plan_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "plan.schema.json").read_text())


@cache
def slot_offers_schema() -> dict[str, Any]:
    """The shape of ``dispatch slots --json``."""
    return json.loads((SCHEMA_DIR / "slot-offers.schema.json").read_text())


def parse_datetime(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ProblemError(f"{where}: {text!r} is not an ISO-8601 datetime") from None
    if value.tzinfo is None:
        raise ProblemError(f"{where}: {text!r} has no UTC offset (write e.g. 2026-11-25T07:00:00Z)")
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record_name(data: dict[str, Any], path: list[str | int]) -> tuple[str, str]:
    """('job J017', 'time_windows[0].end') from a JSON path into the problem."""
    record = "problem"
    rest = path
    if len(path) >= 2 and path[0] in ("jobs", "technicians") and isinstance(path[1], int):
        kind = "job" if path[0] == "jobs" else "technician"
        try:
            ident = data[path[0]][path[1]].get("id")
        except (IndexError, AttributeError, KeyError, TypeError):
            ident = None
        record = f"{kind} {ident}" if isinstance(ident, str) else f"{kind} #{path[1]}"
        rest = path[2:]
    text = ""
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return record, text


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "additionalProperties":
        return error.message
    if error.validator in ("minimum", "maximum", "exclusiveMinimum"):
        return f"{error.instance!r} is out of range ({error.validator} {error.validator_value})"
    if error.validator == "pattern":
        return f"{error.instance!r} is not an ISO-8601 datetime with offset"
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return f"travel kind {error.instance.get('kind')!r} is unknown or has wrong fields"
    return error.message


def _check_schema(data: Any) -> None:
    if not isinstance(data, dict):
        raise ProblemError("problem must be a JSON object")
    validator = jsonschema.Draft202012Validator(problem_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = errors[0]
        path = list(error.absolute_path)
        record, field = _record_name(data, path)
        where = f"{record}: {field}" if field else record
        raise ProblemError(f"{where}: {_schema_message(error)}", record=record, field=field or None)


def _check_finite(data: Any, value: Any, path: list[str | int]) -> None:
    """JSON numbers must be numbers: Python's reader takes NaN and Infinity, which no schema bound refuses."""
    if isinstance(value, float) and not math.isfinite(value):
        record, field = _record_name(data, path)
        where = f"{record}: {field}" if field else record
        raise ProblemError(f"{where}: {value} is not a finite number", record=record, field=field or None)
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(data, item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(data, item, [*path, i])


class _Clock:
    def __init__(self, origin: datetime) -> None:
        self.origin = origin

    def seconds(self, text: str, where: str) -> int:
        return round((parse_datetime(text, where) - self.origin).total_seconds())


def _loc(raw: dict[str, Any]) -> Location:
    return Location(float(raw["lat"]), float(raw["lon"]))


def load_problem(source: str | Path | dict[str, Any]) -> Problem:
    """Read and fully validate a problem; raise ``ProblemError`` naming the record and field on bad input."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise ProblemError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ProblemError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise ProblemError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    _check_finite(data, data, [])
    _check_schema(data)
    origin = parse_datetime(data["horizon_start"], "horizon_start")
    clock = _Clock(origin)
    techs = [_technician(raw, clock) for raw in data["technicians"]]
    jobs = [_job(raw, clock) for raw in data["jobs"]]
    weights = _weights(data.get("weights", {}))
    travel = provider_from_config(data["travel"]) if "travel" in data else HaversineTravel()
    problem = Problem(origin, techs, jobs, weights, travel, data.get("name", ""))
    check_references(problem)
    return problem


def _window(raw: dict[str, Any], clock: _Clock, where: str) -> TimeWindow:
    start = clock.seconds(raw["start"], f"{where}.start")
    end = clock.seconds(raw["end"], f"{where}.end")
    if end < start:
        raise ProblemError(f"{where}.end is before start", field=where)
    return TimeWindow(start, end)


def _technician(raw: dict[str, Any], clock: _Clock) -> Technician:
    rid = f"technician {raw['id']}"
    try:
        shift = _window(raw["shift"], clock, "shift")
        breaks = []
        for k, b in enumerate(raw.get("breaks", [])):
            earliest = clock.seconds(b["earliest_start"], f"breaks[{k}].earliest_start")
            latest = clock.seconds(b["latest_start"], f"breaks[{k}].latest_start")
            if latest < earliest:
                raise ProblemError(f"breaks[{k}].latest_start is before earliest_start")
            breaks.append(BreakRule(earliest, latest, int(b["duration_seconds"])))
        started = []
        for k, s in enumerate(raw.get("started_jobs", [])):
            at = clock.seconds(s["started_at"], f"started_jobs[{k}].started_at")
            end = clock.seconds(s["expected_end"], f"started_jobs[{k}].expected_end") if "expected_end" in s else None
            if end is not None and end < at:
                raise ProblemError(f"started_jobs[{k}].expected_end is before started_at")
            started.append(StartedJob(s["job_id"], at, end))
        absences = []
        for k, a in enumerate(raw.get("absences", [])):
            window = _window(a, clock, f"absences[{k}]")
            absences.append(Absence(window.start, window.end))
        return Technician(
            id=raw["id"],
            start_location=_loc(raw["start_location"]),
            shift_start=shift.start,
            shift_end=shift.end,
            end_location=_loc(raw["end_location"]) if "end_location" in raw else None,
            skills=dict(raw.get("skills", {})),
            breaks=breaks,
            max_working_minutes=raw.get("max_working_minutes"),
            overtime_allowance_minutes=int(raw.get("overtime_allowance_minutes", 0)),
            overtime_cost_per_hour=float(raw.get("overtime_cost_per_hour", 60.0)),
            cost_per_hour=float(raw.get("cost_per_hour", 40.0)),
            available_from=clock.seconds(raw["available_from"], "available_from") if "available_from" in raw else None,
            current_location=_loc(raw["current_location"]) if "current_location" in raw else None,
            started_jobs=started,
            absences=absences,
        )
    except ProblemError as exc:
        raise ProblemError(f"{rid}: {exc}", record=rid, field=exc.field) from None


def _job(raw: dict[str, Any], clock: _Clock) -> Job:
    rid = f"job {raw['id']}"
    try:
        windows = [_window(w, clock, f"time_windows[{k}]") for k, w in enumerate(raw.get("time_windows", []))]
        ordered = sorted(windows, key=lambda w: w.start)
        for a, b in itertools.pairwise(ordered):
            if b.start <= a.end:
                raise ProblemError("time_windows overlap; merge them", field="time_windows")
        sla = raw.get("sla")

        def opt(name: str) -> int | None:
            return clock.seconds(raw[name], name) if name in raw else None

        return Job(
            id=raw["id"],
            location=_loc(raw["location"]),
            duration=int(raw["duration_seconds"]),
            required_skills=dict(raw.get("required_skills", {})),
            time_windows=ordered,
            priority=int(raw.get("priority", 3)),
            sla_due=clock.seconds(sla["due"], "sla.due") if sla else None,
            sla_hard=bool(sla.get("hard", False)) if sla else False,
            lateness_cost_per_hour=float(sla.get("lateness_cost_per_hour", 100.0)) if sla else 100.0,
            pinned_technician=raw.get("pinned_technician"),
            pinned_start=opt("pinned_start"),
            earliest_start=opt("earliest_start"),
            duration_by_skill_level={int(k): int(v) for k, v in raw.get("duration_by_skill_level", {}).items()},
            communicated_start=opt("communicated_start"),
            after=[Dependency(d["job_id"], int(d.get("min_gap_seconds", 0))) for d in raw.get("after", [])],
            crew=raw.get("crew"),
        )
    except ProblemError as exc:
        raise ProblemError(f"{rid}: {exc}", record=rid, field=exc.field) from None


def _weights(raw: dict[str, Any]) -> Weights:
    w = Weights()
    for name in ("travel", "overtime", "lateness", "balance_per_hour", "churn_reassign", "churn_shift_per_hour"):
        if name in raw:
            setattr(w, name, float(raw[name]))
    if "churn_free_minutes" in raw:
        w.churn_free_minutes = int(raw["churn_free_minutes"])
    if "unassigned_penalty" in raw:
        w.unassigned_penalty.update({int(k): float(v) for k, v in raw["unassigned_penalty"].items()})
    return w


def check_references(problem: Problem) -> None:
    """Cross-record rules the schema cannot express: unique ids, known pins, started jobs that exist."""
    tech_ids: set[str] = set()
    for tech in problem.technicians:
        if tech.id in tech_ids:
            raise ProblemError(f"technician {tech.id}: id is used twice", record=f"technician {tech.id}", field="id")
        tech_ids.add(tech.id)
    job_ids: set[str] = set()
    for job in problem.jobs:
        if job.id in job_ids:
            raise ProblemError(f"job {job.id}: id is used twice", record=f"job {job.id}", field="id")
        job_ids.add(job.id)
        if job.pinned_technician is not None and job.pinned_technician not in tech_ids:
            raise ProblemError(
                f"job {job.id}: pinned_technician {job.pinned_technician!r} is not a technician of this problem",
                record=f"job {job.id}",
                field="pinned_technician",
            )
    for job in problem.jobs:
        for k, dep in enumerate(job.after):
            if dep.job_id not in job_ids or dep.job_id == job.id:
                what = "itself" if dep.job_id == job.id else f"unknown job {dep.job_id!r}"
                raise ProblemError(
                    f"job {job.id}: after[{k}] names {what}", record=f"job {job.id}", field=f"after[{k}].job_id"
                )
    _check_no_cycle(problem)
    started: dict[str, str] = {}
    for tech in problem.technicians:
        for s in tech.started_jobs:
            if s.job_id not in job_ids:
                raise ProblemError(
                    f"technician {tech.id}: started_jobs names unknown job {s.job_id!r}",
                    record=f"technician {tech.id}",
                    field="started_jobs",
                )
            if s.job_id in started:
                raise ProblemError(
                    f"job {s.job_id}: started by both {started[s.job_id]} and {tech.id}", record=f"job {s.job_id}"
                )
            started[s.job_id] = tech.id


def _check_no_cycle(problem: Problem) -> None:
    """A job cannot (through others) have to start after itself ends."""
    after = {job.id: [d.job_id for d in job.after] for job in problem.jobs}
    state: dict[str, int] = {}

    def visit(job_id: str, path: list[str]) -> None:
        if state.get(job_id) == 2:
            return
        if state.get(job_id) == 1:
            loop = " -> ".join([*path[path.index(job_id) :], job_id])
            raise ProblemError(f"job {job_id}: dependencies loop ({loop})", record=f"job {job_id}", field="after")
        state[job_id] = 1
        for other in after.get(job_id, []):
            visit(other, [*path, job_id])
        state[job_id] = 2

    for job_id in after:
        visit(job_id, [])


def dump_problem(problem: Problem) -> dict[str, Any]:
    """The problem as a JSON-able dict in the documented format (what ``load_problem`` reads)."""
    at = _Stamp(problem.horizon_start)

    def loc(x: Location) -> dict[str, float]:
        return {"lat": x.lat, "lon": x.lon}

    techs = []
    for t in problem.technicians:
        raw: dict[str, Any] = {
            "id": t.id,
            "skills": dict(t.skills),
            "shift": {"start": at(t.shift_start), "end": at(t.shift_end)},
            "start_location": loc(t.start_location),
            "breaks": [
                {
                    "earliest_start": at(b.earliest_start),
                    "latest_start": at(b.latest_start),
                    "duration_seconds": b.duration,
                }
                for b in t.breaks
            ],
            "overtime_allowance_minutes": t.overtime_allowance_minutes,
            "overtime_cost_per_hour": t.overtime_cost_per_hour,
            "cost_per_hour": t.cost_per_hour,
        }
        if t.end_location is not None:
            raw["end_location"] = loc(t.end_location)
        if t.max_working_minutes is not None:
            raw["max_working_minutes"] = t.max_working_minutes
        if t.available_from is not None:
            raw["available_from"] = at(t.available_from)
        if t.current_location is not None:
            raw["current_location"] = loc(t.current_location)
        if t.started_jobs:
            raw["started_jobs"] = [
                {"job_id": s.job_id, "started_at": at(s.started_at)}
                | ({"expected_end": at(s.expected_end)} if s.expected_end is not None else {})
                for s in t.started_jobs
            ]
        if t.absences:
            raw["absences"] = [{"start": at(a.start), "end": at(a.end)} for a in t.absences]
        techs.append(raw)
    jobs = []
    for j in problem.jobs:
        rj: dict[str, Any] = {
            "id": j.id,
            "location": loc(j.location),
            "duration_seconds": j.duration,
            "required_skills": dict(j.required_skills),
            "time_windows": [{"start": at(w.start), "end": at(w.end)} for w in j.time_windows],
            "priority": j.priority,
        }
        if j.duration_by_skill_level:
            rj["duration_by_skill_level"] = {str(k): v for k, v in j.duration_by_skill_level.items()}
        if j.sla_due is not None:
            rj["sla"] = {"due": at(j.sla_due), "hard": j.sla_hard, "lateness_cost_per_hour": j.lateness_cost_per_hour}
        if j.pinned_technician is not None:
            rj["pinned_technician"] = j.pinned_technician
        for name in ("pinned_start", "earliest_start", "communicated_start"):
            value = getattr(j, name)
            if value is not None:
                rj[name] = at(value)
        if j.after:
            rj["after"] = [{"job_id": d.job_id, "min_gap_seconds": d.min_gap} for d in j.after]
        if j.crew is not None:
            rj["crew"] = j.crew
        jobs.append(rj)
    w = problem.weights
    return {
        "format": PROBLEM_FORMAT,
        "name": problem.name,
        "horizon_start": format_datetime(problem.horizon_start),
        "travel": problem.travel_provider().describe(),
        "weights": {
            "travel": w.travel,
            "overtime": w.overtime,
            "lateness": w.lateness,
            "unassigned_penalty": {str(k): v for k, v in w.unassigned_penalty.items()},
            "balance_per_hour": w.balance_per_hour,
            "churn_reassign": w.churn_reassign,
            "churn_shift_per_hour": w.churn_shift_per_hour,
            "churn_free_minutes": w.churn_free_minutes,
        },
        "technicians": techs,
        "jobs": jobs,
    }


class _Stamp:
    def __init__(self, origin: datetime) -> None:
        self.origin = origin

    def __call__(self, seconds: int) -> str:
        return format_datetime(self.origin + timedelta(seconds=seconds))


def dump_plan(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-able dict (``docs/plan-format.md``); times are ISO-8601 UTC."""
    at = _Stamp(plan.horizon_start)
    o, s = plan.objective, plan.stats
    return {
        "format": PLAN_FORMAT,
        "horizon_start": format_datetime(plan.horizon_start),
        "routes": [
            {
                "technician_id": r.technician_id,
                "start": at(r.start),
                "end": at(r.end),
                "travel_seconds": r.travel_seconds,
                "end_travel_seconds": r.end_travel_seconds,
                "visits": [
                    {
                        "job_id": v.job_id,
                        "arrival": at(v.arrival),
                        "start": at(v.start),
                        "end": at(v.end),
                        "travel_seconds": v.travel_seconds,
                    }
                    for v in r.visits
                ],
                "breaks": [{"start": at(b.start), "end": at(b.end)} for b in r.breaks],
            }
            for r in plan.routes
        ],
        "unassigned": [{"job_id": u.job_id, "reason": u.reason.value, "detail": u.detail} for u in plan.unassigned],
        "objective": {
            "travel_seconds": o.travel_seconds,
            "overtime_seconds": o.overtime_seconds,
            "lateness_seconds": o.lateness_seconds,
            "unassigned_by_priority": {str(k): v for k, v in sorted(o.unassigned_by_priority.items())},
            "longest_day_seconds": o.longest_day_seconds,
            "balance_seconds": o.balance_seconds,
            "above_fair_share_seconds": o.above_fair_share_seconds,
            "total_cost": o.total_cost,
        },
        "stats": {
            "status": s.status,
            "wall_seconds": s.wall_seconds,
            "first_solution_seconds": s.first_solution_seconds,
            "solutions_found": s.solutions_found,
            "time_limit_reached": s.time_limit_reached,
        },
        "conflicts": [
            {"job_id": c.job_id, "technician_id": c.technician_id, "kind": c.kind, "message": c.message}
            for c in plan.conflicts
        ],
    }


def load_plan(source: str | Path | dict[str, Any]) -> Plan:
    """Read a plan written by ``dump_plan``; raise ``PlanError`` naming what is wrong."""
    data = source if isinstance(source, dict) else json.loads(Path(source).read_text())
    try:
        if data.get("format") != PLAN_FORMAT:
            raise PlanError(f"not a {PLAN_FORMAT} document (format={data.get('format')!r})")
        origin = parse_datetime(data["horizon_start"], "horizon_start")
        clock = _Clock(origin)
        routes = []
        for r in data["routes"]:
            where = f"route {r['technician_id']}"
            routes.append(
                Route(
                    technician_id=r["technician_id"],
                    start=clock.seconds(r["start"], f"{where}.start"),
                    end=clock.seconds(r["end"], f"{where}.end"),
                    visits=[
                        Visit(
                            v["job_id"],
                            clock.seconds(v["arrival"], f"{where}.arrival"),
                            clock.seconds(v["start"], f"{where}.start"),
                            clock.seconds(v["end"], f"{where}.end"),
                            int(v["travel_seconds"]),
                        )
                        for v in r["visits"]
                    ],
                    breaks=[
                        PlacedBreak(
                            clock.seconds(b["start"], f"{where}.break"), clock.seconds(b["end"], f"{where}.break")
                        )
                        for b in r.get("breaks", [])
                    ],
                    travel_seconds=int(r.get("travel_seconds", 0)),
                    end_travel_seconds=int(r.get("end_travel_seconds", 0)),
                )
            )
        unassigned = [
            Unassigned(u["job_id"], UnassignedReason(u["reason"]), u.get("detail", "")) for u in data["unassigned"]
        ]
        o = data.get("objective", {})
        objective = ObjectiveBreakdown(
            travel_seconds=int(o.get("travel_seconds", 0)),
            overtime_seconds=int(o.get("overtime_seconds", 0)),
            lateness_seconds=int(o.get("lateness_seconds", 0)),
            unassigned_by_priority={int(k): int(v) for k, v in o.get("unassigned_by_priority", {}).items()},
            longest_day_seconds=int(o.get("longest_day_seconds", 0)),
            balance_seconds=int(o.get("balance_seconds", 0)),
            above_fair_share_seconds=int(o.get("above_fair_share_seconds", 0)),
            total_cost=float(o.get("total_cost", 0.0)),
        )
        s = data.get("stats", {})
        stats = SolveStats(
            status=str(s.get("status", "not_solved")),
            wall_seconds=float(s.get("wall_seconds", 0.0)),
            first_solution_seconds=s.get("first_solution_seconds"),
            solutions_found=int(s.get("solutions_found", 0)),
            time_limit_reached=bool(s.get("time_limit_reached", False)),
        )
        conflicts = [
            Conflict(str(c["job_id"]), str(c["technician_id"]), str(c["kind"]), str(c["message"]))
            for c in data.get("conflicts", [])
        ]
    except (KeyError, TypeError, ValueError, ProblemError) as exc:
        if isinstance(exc, PlanError):
            raise
        raise PlanError(f"malformed plan: {exc!r}") from None
    return Plan(origin, routes, unassigned, objective, stats, conflicts)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
