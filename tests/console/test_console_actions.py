"""Dispatch by keyboard: every action is one service call, refusals shown in place, undo once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from textual.widgets import Input, Static

from data.db import Database
from data.errors import StaleJob
from data.models import Absence, Job, JobNote, JobStatus
from data.services.jobs import assign_job
from dispatch_tui.app import DispatchApp
from dispatch_tui.context import ConsoleContext
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.pickers import PickList, TextPrompt
from dispatch_tui.screens.replan import ReplanScreen
from dispatch_tui.screens.suggestions import SuggestionsScreen
from tests.console.conftest import make_app, settle
from tests.factories import ADMIN, DISPATCHER, SUPERVISOR, local


def job(db: Database, ref: str) -> Job:
    with db.read() as s:
        found = s.scalar(select(Job).where(Job.ref == ref))
        assert found is not None
        return found


def tech_code(db: Database, job_ref: str) -> str | None:
    from data.models import Technician

    j = job(db, job_ref)
    if j.technician_id is None:
        return None
    with db.read() as s:
        t = s.get(Technician, j.technician_id)
        return t.code if t else None


async def select_job(app: DispatchApp, pilot: object, ref: str) -> None:
    screen = app.screen
    assert isinstance(screen, JobsScreen)
    screen.table.move_cursor(row=screen.table.get_row_index(ref))
    await settle(app, pilot)  # type: ignore[arg-type]
    assert app.selected_job == ref


def picker_error(app: DispatchApp) -> str:
    return str(app.screen.query_one("#error", Static).render())


async def test_assign_refused_for_missing_skill_is_shown_in_the_picker(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, PickList)
        await pilot.press(*"T3", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PickList)  # still open, to try someone else
        assert "T3 Tech T3 has skill 'hvac' at level 1; job J-HVAC needs 2" in picker_error(app)
        assert app.status_level == "error"
        await pilot.press("escape")
    assert job(world_db, "J-HVAC").technician_id is None


async def test_assign_at_a_time_then_undo(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press(*"T1", "tab", "tab", *"10:45", "enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, PickList)
        assert tech_code(world_db, "J-HVAC") == "T1"
        assert job(world_db, "J-HVAC").planned_start == local(10, 45)
        assert app.status_text.startswith("J-HVAC assigned to T1 at 10:45")
        await pilot.press("u")
        await settle(app, pilot)
        assert app.status_text == "undone: unassign J-HVAC"
        assert job(world_db, "J-HVAC").technician_id is None
        assert app.undo_step is None


async def test_unassign_then_undo_puts_it_back(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("x")
        await settle(app, pilot)
        assert tech_code(world_db, "J-PLUMB") is None
        await pilot.press("u")
        await settle(app, pilot)
    assert tech_code(world_db, "J-PLUMB") == "T2"
    assert job(world_db, "J-PLUMB").planned_start == local(11)


async def test_move_to_another_time(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("m")
        await settle(app, pilot)
        assert app.screen.query_one("#extra", Input).value == "11:00"
        app.screen.query_one("#extra", Input).value = "13:15"
        await pilot.press("enter")  # the filter box has focus: Enter picks the highlighted T2
        await settle(app, pilot)
        assert job(world_db, "J-PLUMB").planned_start == local(13, 15)
        assert "J-PLUMB moved to T2 at 13:15" in app.status_text
        await pilot.press("u")
        await settle(app, pilot)
    assert job(world_db, "J-PLUMB").planned_start == local(11)


async def test_pin_toggle_and_status_change(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("p")
        await settle(app, pilot)
        assert job(world_db, "J-PLUMB").pinned
        await pilot.press("u")
        await settle(app, pilot)
        assert not job(world_db, "J-PLUMB").pinned
        await pilot.press("S")
        await settle(app, pilot)
        assert isinstance(app.screen, PickList)
        await pilot.press("down", "enter")  # new, [dispatched], cancelled
        await settle(app, pilot)
        assert job(world_db, "J-PLUMB").status is JobStatus.DISPATCHED
        assert app.status_text.startswith("J-PLUMB: scheduled -> dispatched")


async def test_illegal_status_refused_in_place(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")  # new and unassigned: only scheduled/cancelled
        await pilot.press("S")
        await settle(app, pilot)
        await pilot.press("enter")  # scheduled needs a technician
        await settle(app, pilot)
        assert isinstance(app.screen, PickList)
        assert "has no technician: assign it first" in picker_error(app)


async def test_add_note(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"gate code 1234", "enter")
        await settle(app, pilot)
    with world_db.read() as s:
        assert [n.body for n in s.scalars(select(JobNote))] == ["gate code 1234"]


async def test_mark_technician_absent_lists_jobs_to_replan(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down")  # T2
        await settle(app, pilot)
        assert app.selected_technician == "T2"
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("down", "enter")  # leave, [sick], training
        await settle(app, pilot)
    with world_db.read() as s:
        absence = s.scalar(select(Absence))
        assert absence is not None and absence.starts_at == local(10, 30)
        assert absence.kind.value == "sick"
    assert "J-PLUMB" in app.status_text


async def test_conflict_with_another_dispatcher_is_shown_to_the_loser(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        assign_job(world_db, ADMIN, "J-PLUMB", "T2", local(12), reassign=True)  # someone else, meanwhile
        await pilot.press("x")
        await settle(app, pilot)
        assert app.status_level == "error"
        # on the console's clock in the branch's zone (with its day when not today), never UTC
        assert re.match(
            r"job J-PLUMB was changed by ada at (\w{3} \d\d\.\d\d )?\d\d:\d\d; reload and try again$", app.status_text
        )
    assert job(world_db, "J-PLUMB").planned_start == local(12)  # the winner's change stands


async def test_supervisor_is_read_only_in_the_ui_and_refused_by_the_service(world_db: Database) -> None:
    app = make_app(world_db, SUPERVISOR, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert "sam · supervisor · HEL" in app.title_text and "READ-ONLY" in app.title_text
        await select_job(app, pilot, "J-HVAC")
        assert app.check_action("view", ("jobs",)) is True
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)  # the key does nothing but say why
        assert app.status_text == "read-only: supervisors cannot assign jobs"
        await pilot.press("colon", *"assign J-HVAC T1", "enter")
        await settle(app, pilot)
        assert app.status_level == "error"
        assert app.status_text == "sam is a supervisor: read-only, cannot assign jobs"  # the service's own word
    assert job(world_db, "J-HVAC").technician_id is None


async def test_suggestions_assign_the_chosen_one_in_one_key(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("s")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SuggestionsScreen), app.status_text
        assert screen.suggestions and screen.suggestions[0].technician == "T1"  # the only hvac-2 technician
        await pilot.press("1")
        await settle(app, pilot)
    assert tech_code(world_db, "J-HVAC") == "T1"
    assert job(world_db, "J-HVAC").planned_start == screen.suggestions[0].start


async def test_replan_shows_a_diff_and_applies_it(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot, timeout=30)
        screen = app.screen
        assert isinstance(screen, ReplanScreen), app.status_text
        proposal = screen.proposal
        placed = {ref for ref, _tech, _start in proposal.new_assignments}
        assert "J-HVAC" in placed
        await pilot.press("y")
        await settle(app, pilot, timeout=30)
        assert app.status_text.startswith("re-plan applied:"), app.status_text
    assert tech_code(world_db, "J-HVAC") == "T1"


def test_a_console_move_is_held_to_the_version_it_read(world_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """`:assign` on an assigned job: a change by someone else between the console's read and its write is a conflict."""
    from dispatch_tui import actions
    from tests.console.conftest import make_context

    read = actions.job_state

    def read_then_someone_else_moves_it(ctx: ConsoleContext, ref: str) -> actions.JobState:
        state = read(ctx, ref)
        assign_job(world_db, ADMIN, ref, "T2", local(13), reassign=True)
        return state

    monkeypatch.setattr(actions, "job_state", read_then_someone_else_moves_it)
    with pytest.raises(StaleJob, match="changed by ada"):
        actions.assign(make_context(world_db, DISPATCHER, "HEL"), "J-PLUMB", "T2", local(14))
    assert job(world_db, "J-PLUMB").planned_start == local(13)  # the other change stands


async def test_a_role_that_cannot_assign_has_no_assign_key_and_is_told_why(world_db: Database) -> None:
    from data.models import Role
    from data.permissions import Permission
    from data.services.roles import add_role, give_role
    from data.services.users import add_user, resolve_actor

    add_role(world_db, ADMIN, "planner", frozenset({Permission.REPLAN}))
    add_user(world_db, ADMIN, "pat", "Pat Planner", Role.DISPATCHER)
    give_role(world_db, ADMIN, "pat", "planner")
    app = make_app(world_db, resolve_actor(world_db, "pat", "console"), start_view="jobs")
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        assert "READ-ONLY" not in app.title_text
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        assert "assign" not in shown
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        assert app.status_text == "pat's role planner cannot assign jobs (needs the assign permission)"
        await pilot.press("colon", *"assign J-HVAC T1", "enter")
        await settle(app, pilot)
        assert app.status_level == "error" and "pat's role planner cannot assign job" in app.status_text
    assert job(world_db, "J-HVAC").technician_id is None
