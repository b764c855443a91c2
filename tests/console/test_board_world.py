"""A small planned day for the board, map and calendar tests, and the read models' own tests on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.reactive import reactive
from textual.screen import Screen

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.models import AbsenceKind, JobType, Role
from data.queries.board import board_day, calendar_range, map_state, place_break, technicians_of_jobs
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.technicians import mark_absent, record_position
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import DayChosen, JobSelected, OpenJob, TechnicianSelected
from tests.factories import DAY, DISPATCHER, build_world, local

FIELD = Actor("field", Role.ADMIN, "field-api")
NOW = local(11, 30)  # frozen clock for every console test: 11:30 in Helsinki on DAY


def frozen_clock() -> Callable[[], datetime]:
    return lambda: NOW


def plan_day(db: Database) -> dict[str, str]:
    """T1: a P1 at 09:00 and a contract maintenance at 10:30; T2: a job at 13:00; T3 off sick from 12:00.

    Returns the job refs by name ("p1", "maint", "t2", "open").
    """
    build_world(db)
    refs: dict[str, str] = {}
    specs = [
        ("p1", JobType.REPAIR, "S1", 60, 1, "T1", local(9)),
        ("maint", JobType.MAINTENANCE, "S2", 60, 3, "T1", local(10, 30)),
        ("t2", JobType.REPAIR, "S3", 90, 2, "T2", local(13)),
        ("open", JobType.INSPECTION, "S2", 45, 1, None, None),
    ]
    for name, jtype, site, minutes, prio, tech, start in specs:
        draft = JobDraft(
            type=jtype,
            site_code=site,
            summary=f"{name} visit",
            duration_minutes=minutes,
            priority=prio,
            contract_code="K1" if name == "maint" else None,
        )
        job = create_job(db, DISPATCHER, draft)
        refs[name] = job.ref
        if tech is not None:
            assign_job(db, DISPATCHER, job.ref, tech, start)
    mark_absent(db, DISPATCHER, "T3", AbsenceKind.SICK, local(12), local(16))
    record_position(db, FIELD, "T1", 60.175, 24.94, at=local(11, 20))
    return refs


def test_board_day_lists_rows_with_jobs_travel_absence_and_break(db: Database) -> None:
    refs = plan_day(db)
    day = board_day(db, "HEL", DAY)
    rows = {t.code: t for t in day.technicians}
    assert list(rows) == ["T1", "T2", "T3"]
    t1 = rows["T1"]
    assert [j.ref for j in t1.jobs] == [refs["p1"], refs["maint"]]
    assert t1.jobs[0].priority == 1 and t1.jobs[0].start == local(9)
    # T1 lives at 60.16, 24.93; S1 is at 60.18, 24.95: about 2.5 km, 1.3 road factor, 40 km/h -> 5 min.
    assert t1.jobs[0].travel_minutes == 5
    assert t1.jobs[1].travel_minutes == 1  # S1 -> S2 is 550 m
    assert t1.shift_start == local(8) and t1.shift_end == local(16)
    assert t1.breaks and local(11, 30) <= t1.breaks[0].start < t1.breaks[0].end <= local(13)
    assert [a.kind for a in rows["T3"].absences] == ["sick"]
    assert day.unassigned == 1


def test_board_day_for_some_technicians_only_builds_those_rows(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    world_ids = {t.code: t.id for t in board_day(sqlite_db, "HEL", DAY).technicians}
    partial = board_day(sqlite_db, "HEL", DAY, technician_ids=[world_ids["T2"]])
    assert [t.code for t in partial.technicians] == ["T2"]


def test_technicians_of_jobs_follows_assignment(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    day = board_day(sqlite_db, "HEL", DAY)
    job_ids = {j.ref: j.id for t in day.technicians for j in t.jobs}
    holders = technicians_of_jobs(sqlite_db, [job_ids[refs["t2"]]])
    assert holders == {job_ids[refs["t2"]]: next(t.id for t in day.technicians if t.code == "T2")}


def test_place_break_moves_past_a_job_that_covers_mid_shift() -> None:
    brk = place_break(local(8), local(16), 30, [(local(11, 30), local(12, 30))])
    assert brk is not None and brk.start == local(12, 30) and brk.end == local(13)
    assert place_break(local(8), local(9), 0, []) is None


def test_unknown_branch_is_named(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with pytest.raises(NotFound, match="NOPE"):
        board_day(sqlite_db, "NOPE", DAY)


def test_map_state_positions_open_jobs_and_routes(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    state = map_state(sqlite_db, "HEL", DAY)
    techs = {t.code: t for t in state.technicians}
    assert (techs["T1"].lat, techs["T1"].lon) == (60.175, 24.94)  # last reported position
    assert techs["T2"].seen_at is None and (techs["T2"].lat, techs["T2"].lon) == pytest.approx((60.17, 24.94))  # home
    assert techs["T1"].route_refs == (refs["p1"], refs["maint"])
    assert {j.ref for j in state.jobs} == {refs["p1"], refs["maint"], refs["t2"], refs["open"]}
    b = state.bounds
    for site_lat in (60.18, 60.185, 60.19):
        assert b.south < site_lat < b.north


def test_calendar_range_counts_days_marks_recurring_and_absences(db: Database) -> None:
    refs = plan_day(db)
    start = DAY - timedelta(days=DAY.weekday())
    data = calendar_range(db, start, start + timedelta(days=7), branch_code="HEL")
    assert data.days[DAY].jobs == 3 and data.days[DAY].p1 == 1 and data.days[DAY].absent == 1
    assert data.days[start].jobs == 0
    recurring = {e.ref for e in data.entries if e.recurring}
    assert recurring == {refs["maint"]}
    tech = calendar_range(db, start, start + timedelta(days=7), technician_code="T1", detail=False)
    assert tech.days[DAY].jobs == 2 and tech.entries == ()
    with pytest.raises(InvalidInput):
        calendar_range(db, start, start, branch_code="HEL")
    with pytest.raises(InvalidInput):
        calendar_range(db, start, start + timedelta(days=1))


class ViewHarness(App[None]):
    """The smallest app that hosts one view screen: the reactives the title and status lines read."""

    title_variants = reactive(("Dispatch · dana (dispatcher) · HEL",))
    status_text = reactive("")
    status_level = reactive("info")
    freshness_text = reactive("live")

    def __init__(self, make_screen: Callable[[ConsoleContext], Screen[None]], ctx: ConsoleContext) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.ctx = ctx
        self.seen: list[Message] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(self.ctx))

    def on_job_selected(self, message: JobSelected) -> None:
        self.seen.append(message)

    def on_technician_selected(self, message: TechnicianSelected) -> None:
        self.seen.append(message)

    def on_open_job(self, message: OpenJob) -> None:
        self.seen.append(message)

    def on_day_chosen(self, message: DayChosen) -> None:
        self.seen.append(message)


def console_context(db: Database, *, ascii_only: bool = False) -> ConsoleContext:
    return ConsoleContext(
        db=db, actor=DISPATCHER, branch_code="HEL", day=DAY, clock=frozen_clock(), ascii_only=ascii_only
    )


async def settle(pilot: Pilot[None]) -> None:
    """Let every widget (title, status line, footer) finish mounting so a snapshot is the same each run."""
    for _ in range(3):
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
