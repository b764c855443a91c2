"""Small hand-checkable problems: a grid of points around central Helsinki, 1 h jobs, 8-16 shifts."""

from __future__ import annotations

from datetime import UTC, datetime

from optimizer.model import Job, Location, Plan, Problem, Technician, TimeWindow
from optimizer.validate import validate

H = 3600
DAY = datetime(2026, 11, 25, tzinfo=UTC)


def loc(dy: float, dx: float) -> Location:
    """A point dy, dx 'blocks' (about 1.1 km north, 0.56 km east per block) from the city centre."""
    return Location(60.17 + dy * 0.01, 24.94 + dx * 0.01)


def tech(tid: str, at: Location | None = None, **kw: object) -> Technician:
    return Technician(tid, at or loc(0, 0), kw.pop("shift_start", 8 * H), kw.pop("shift_end", 16 * H), **kw)  # type: ignore[arg-type]


def job(jid: str, at: Location | None = None, duration: int = H, **kw: object) -> Job:
    return Job(jid, at or loc(1, 1), duration, **kw)  # type: ignore[arg-type]


def window(start_h: float, end_h: float) -> TimeWindow:
    return TimeWindow(int(start_h * H), int(end_h * H))


def problem(techs: list[Technician], jobs: list[Job]) -> Problem:
    return Problem(DAY, techs, jobs)


def assert_valid(p: Problem, plan: Plan) -> None:
    report = validate(p, plan)
    assert report.ok, [str(v) for v in report.violations]
    assert report.objective.total_cost == plan.objective.total_cost


def tech_of(plan: Plan, job_id: str) -> str | None:
    placed = plan.assignment().get(job_id)
    return placed[0] if placed else None
