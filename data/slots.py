"""Slot offers for a calling customer: the 2-hour arrival windows of the coming days the branch can
promise at a site, each priced against the day as planned (``optimizer.slots``), cheapest first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from data.availability import local_date
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.models.base import utcnow
from data.models.customers import Site
from data.models.org import Branch
from data.planning import live_problem, load_day
from optimizer.model import Job, Location
from optimizer.slots import arrival_windows, offer_slots

NEW_JOB = "NEW"
WINDOW_HOURS = 2
MAX_DAYS = 31


@dataclass(frozen=True)
class SlotView:
    window_start: datetime
    window_end: datetime
    technician: str
    start: datetime
    added_travel_minutes: int
    displaced: list[dict[str, Any]] = field(default_factory=list)
    """Jobs the insertion pushes later: {"job": ref, "minutes_later": n}."""
    lateness_minutes: int = 0
    overtime_minutes: int = 0
    cost: float = 0.0
    timezone: str = "UTC"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def slot_offers(
    db: Database,
    site_code: str,
    skills: dict[str, int],
    duration_minutes: int,
    days: int = 5,
    *,
    first_day: date | None = None,
    now: datetime | None = None,
) -> list[SlotView]:
    """Windows from ``first_day`` (default today; from ``now`` on today) over ``days`` days, cheapest first."""
    if duration_minutes <= 0:
        raise InvalidInput("must be a positive number of minutes", record="slot request", field="--duration")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"must be 1-{MAX_DAYS}", record="slot request", field="--days")
    now = now or utcnow()
    with db.read() as session:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None:
            raise NotFound(f"site {site_code} does not exist")
        branch = session.get(Branch, site.branch_id)
        assert branch is not None
        location, branch_code, tz = Location(site.lat, site.lon), branch.code, branch.timezone
    start_day = first_day or local_date(now, tz)
    views: list[SlotView] = []
    for k in range(days):
        day = start_day + timedelta(days=k)
        planning = load_day(db, day, branch_code, now)
        technicians = planning.problem.technicians
        if not technicians:
            continue
        opens = min(t.earliest_departure for t in technicians)
        closes = max(t.shift_end for t in technicians)
        if planning.now_offset is not None:
            opens = max(opens, -(-planning.now_offset // 3600) * 3600)  # the next full hour
        job = Job(NEW_JOB, location, duration_minutes * 60, dict(skills), earliest_start=planning.now_offset)
        windows = arrival_windows(opens - opens % 3600, closes, WINDOW_HOURS * 3600)
        problem = live_problem(planning, NEW_JOB)
        for offer in offer_slots(problem, planning.current, job, windows):
            views.append(
                SlotView(
                    window_start=planning.at(offer.window.start),
                    window_end=planning.at(offer.window.end),
                    technician=offer.technician_id,
                    start=planning.at(offer.start),
                    added_travel_minutes=round(offer.added_travel_seconds / 60),
                    displaced=[{"job": d.job_id, "minutes_later": d.minutes_later} for d in offer.displaced],
                    lateness_minutes=round(offer.lateness_seconds / 60),
                    overtime_minutes=round(offer.overtime_seconds / 60),
                    cost=offer.cost,
                    timezone=tz,
                )
            )
    views.sort(key=lambda v: (v.cost, v.window_start))
    return views
