"""Each solve is recorded as a `plan.solved` event, so its time and status reach the metrics endpoints.

A solve runs wherever a plan is asked for (a batch `dispatch schedule` from cron, a re-plan, the
console), often in a process that ends right after; the event log is the one place every process
shares, so the worker's and the field API's `/metrics` read solve times from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.models.base import utcnow
from data.models.events import Event
from data.uow import UnitOfWork
from optimizer.model import Plan

SOLVED = "plan.solved"


def record_solve(db: Database, actor: Actor, branch: str, day: date, plan: Plan, *, kind: str = "schedule") -> None:
    """Append the solve's status, time and outcome to the event log (what was planned is not stored here)."""
    stats = plan.stats
    with UnitOfWork(db, actor) as uow:
        uow.emit(
            SOLVED,
            "branch",
            branch,
            {
                "day": day.isoformat(),
                "kind": kind,
                "status": stats.status,
                "seconds": round(stats.wall_seconds, 3),
                "solutions": stats.solutions_found,
                "time_limit_reached": stats.time_limit_reached,
                "assigned": len(plan.assignment()),
                "unassigned": len(plan.unassigned),
            },
        )


@dataclass(frozen=True)
class SolveRecord:
    branch: str
    at: datetime
    status: str
    seconds: float
    time_limit_reached: bool


def recent_solves(db: Database, *, hours: int = 24, now: datetime | None = None) -> list[SolveRecord]:
    """The solves of the last `hours`, oldest first."""
    since = (now or utcnow()) - timedelta(hours=hours)
    with db.read() as session:
        rows = session.execute(
            select(Event.subject_id, Event.at, Event.payload)
            .where(Event.type == SOLVED, Event.at >= since)
            .order_by(Event.seq)
        ).all()
    return [
        SolveRecord(
            branch,
            at,
            str(payload.get("status", "unknown")),
            float(payload.get("seconds", 0.0)),
            bool(payload.get("time_limit_reached", False)),
        )
        for branch, at, payload in rows
    ]
