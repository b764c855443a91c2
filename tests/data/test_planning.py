"""The planning adapter: the database day becomes a problem, and the plan comes back as assignments."""

from __future__ import annotations

from datetime import timedelta

from data.db import Database
from data.feed import tail
from data.models import AbsenceKind, JobStatus, JobType
from data.planning import apply_plan, load_day, replan_day, schedule_day, suggest_for_job
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.technicians import mark_absent
from optimizer.replan import TechnicianAbsent
from optimizer.validate import validate
from tests.factories import DAY, DISPATCHER, build_world, local


def _jobs(db: Database, n: int, skill: str = "hvac") -> list[str]:
    return [
        create_job(
            db,
            DISPATCHER,
            JobDraft(
                JobType.REPAIR,
                f"S{i % 3 + 1}",
                f"Job {i}",
                45,
                skills={skill: 1},
                window_start=local(8),
                window_end=local(16),
            ),
        ).ref
        for i in range(n)
    ]


def test_load_day_maps_shifts_skills_and_absences(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refs = _jobs(sqlite_db, 3)
    mark_absent(sqlite_db, DISPATCHER, "T3", AbsenceKind.SICK, local(12), local(18))
    day = load_day(sqlite_db, DAY, "HEL")
    techs = {t.id: t for t in day.problem.technicians}
    assert set(techs) == {"T1", "T2", "T3"}
    assert techs["T1"].skills == {"hvac": 3, "electrical": 1}
    assert day.at(techs["T1"].shift_start) == local(8)
    assert day.at(techs["T3"].shift_end) == local(12)  # sick from noon
    assert {j.id for j in day.problem.jobs} == set(refs)
    # Windows bound the start of service so the job also ends inside the customer's window.
    job = day.problem.jobs[0]
    assert day.at(job.time_windows[0].end) == local(16) - timedelta(minutes=45)


def test_schedule_and_apply_writes_valid_assignments_with_events(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refs = _jobs(sqlite_db, 6) + _jobs(sqlite_db, 2, "plumbing")
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    assert validate(planning.problem, plan).violations == []
    assert not plan.unassigned
    result = apply_plan(sqlite_db, DISPATCHER, planning, plan)
    assert sorted(result.assigned) == sorted(refs)
    assert tail(sqlite_db)[-1].type == "plan.applied"
    # The written day reads back as the same plan.
    again = load_day(sqlite_db, DAY, "HEL")
    assert again.current.assignment().keys() == plan.assignment().keys()
    plumbing = {ref for ref in refs[-2:]}
    for ref, (tech, _) in again.current.assignment().items():
        assert (tech == "T2") == (ref in plumbing)


def test_apply_takes_what_is_still_valid_and_reports_a_job_moved_meanwhile(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refs = _jobs(sqlite_db, 2)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    assign_job(sqlite_db, DISPATCHER, refs[0], "T3", local(14))
    result = apply_plan(sqlite_db, DISPATCHER, planning, plan)
    assert result.assigned == [refs[1]]
    [skipped] = result.skipped
    assert skipped.startswith(refs[0]) and "changed by dana" in skipped
    assert tail(sqlite_db)[-1].payload["skipped"] == result.skipped


def test_replan_after_a_sick_call_moves_only_the_sick_technicians_jobs(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _jobs(sqlite_db, 9)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    apply_plan(sqlite_db, DISPATCHER, planning, plan)
    before = load_day(sqlite_db, DAY, "HEL").current.assignment()
    sick = next(tech for tech, _ in before.values() if tech != "T2")
    mark_absent(sqlite_db, DISPATCHER, sick, AbsenceKind.SICK, local(8), local(18))
    planning, new_plan, changes = replan_day(
        sqlite_db, DAY, "HEL", TechnicianAbsent(sick, planning.offset(local(8))), now=local(7), time_limit=1
    )
    assert validate(planning.problem, new_plan).violations == []
    for move in changes.moves:
        if move.technician_changed:
            assert move.old_technician_id == sick
    after = new_plan.assignment()
    for ref, (tech, _) in before.items():
        if tech != sick:
            assert after[ref][0] == tech  # healthy technicians keep all their jobs
    _, full, _ = replan_day(
        sqlite_db, DAY, "HEL", TechnicianAbsent(sick, planning.offset(local(8))), now=local(7), scope="branch"
    )
    assert validate(planning.problem, full).violations == []


def test_suggest_ranks_qualified_technicians(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    [ref] = _jobs(sqlite_db, 1, "plumbing")
    options = suggest_for_job(sqlite_db, ref, DAY)
    assert [o.technician for o in options][:1] == ["T2"]
    assert all(o.technician == "T2" for o in options)
    assert options[0].start >= local(8)


def test_replan_after_absence_keeps_started_work(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refs = _jobs(sqlite_db, 4)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    apply_plan(sqlite_db, DISPATCHER, planning, plan)
    t1_jobs = [ref for ref, (tech, _) in plan.assignment().items() if tech == "T1"]
    if t1_jobs:
        change_status(sqlite_db, DISPATCHER, t1_jobs[0], JobStatus.DISPATCHED)
    now = local(8, 5)
    planning, new_plan, changes = replan_day(
        sqlite_db, DAY, "HEL", TechnicianAbsent("T3", planning.offset(local(8, 5))), now=now, time_limit=1
    )
    assert all(tech != "T3" for tech, _ in new_plan.assignment().values())
    assert validate(planning.problem, new_plan).violations == []
    assert set(refs) >= {m.job_id for m in changes.moves}


def test_sick_from_ten_cuts_the_day_and_its_overtime(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refs = _jobs(sqlite_db, 9)
    mark_absent(sqlite_db, DISPATCHER, "T3", AbsenceKind.SICK, local(10), local(18))
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    t3 = planning.problem.technician("T3")
    assert planning.at(t3.latest_end) == local(10)  # not 10:00 + the 60 min overtime allowance
    route = plan.route_of("T3")
    assert route is None or not route.visits or planning.at(route.end) <= local(10)
    assert validate(planning.problem, plan).violations == []
    assert len(plan.assignment()) + len(plan.unassigned) == len(refs)


def test_board_draws_the_break_the_applied_plan_placed(sqlite_db: Database) -> None:
    from data.queries.board import board_day

    build_world(sqlite_db)
    _jobs(sqlite_db, 12)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    apply_plan(sqlite_db, DISPATCHER, planning, plan)
    board = {t.code: t for t in board_day(sqlite_db, "HEL", DAY).technicians}
    checked = 0
    for route in plan.routes:
        if not route.visits or not route.breaks:
            continue
        drawn = [(b.start, b.end) for b in board[route.technician_id].breaks]
        assert drawn == [(planning.at(b.start), planning.at(b.end)) for b in route.breaks]
        checked += 1
    assert checked
