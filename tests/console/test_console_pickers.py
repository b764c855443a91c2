"""Pickers, suggestions, help and view changes tell the truth: dates, absences, names, costs, keys."""

from __future__ import annotations

from data.db import Database
from data.models.workforce import AbsenceKind
from data.services.technicians import mark_absent
from dispatch_tui import actions
from dispatch_tui.screens.board import BoardScreen
from dispatch_tui.screens.pickers import PickList
from dispatch_tui.screens.suggestions import SuggestionsScreen
from tests.console.conftest import make_app, screen_lines, settle, until
from tests.console.test_console_actions import select_job
from tests.factories import ADMIN, local


async def test_assign_on_another_day_says_which_day(world_db: Database) -> None:
    app = make_app(world_db)
    app.ctx.clock = lambda: local(16, 30)  # T1's shift is over: the next free slot is tomorrow's
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"assign J-HVAC T1", "enter")
        await until(pilot, lambda: "J-HVAC" in app.status_text)
        assert app.status_text.startswith("J-HVAC assigned to T1 at Thu 26.11 08:00")


async def test_the_picker_does_not_offer_an_absent_technician_as_qualified(world_db: Database) -> None:
    mark_absent(world_db, ADMIN, "T1", AbsenceKind.SICK, local(10), local(18))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("a")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, PickList)
        [t1] = [c for c in picker.choices if c.value == "T1"]
        assert t1.dim and "(sick until 18:00)" in t1.label


async def test_the_absent_technician_shows_no_on_time_and_no_next_job(world_db: Database) -> None:
    mark_absent(world_db, ADMIN, "T2", AbsenceKind.SICK, local(10), local(18))
    app = make_app(world_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        t2 = next(line for line in screen_lines(app) if line.startswith(" T2"))
        assert "absent" in t2 and "on time" not in t2 and "J-PLUMB" not in t2


def _suggested(_ref: str) -> list[actions.Suggestion]:
    at = local(10)
    return [
        actions.Suggestion("T1", at, 12, 0, 0, 67.4, "Tech T1"),
        actions.Suggestion("T3", at, 20, 15, 5, 99.0, "Tech T3"),
    ]


async def test_suggestions_name_the_technician_and_explain_the_cost(world_db: Database, monkeypatch: object) -> None:
    monkeypatch.setattr(actions, "suggestions_for", lambda ctx, ref: _suggested(ref))  # type: ignore[attr-defined]
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SuggestionsScreen) and bool(app.screen.suggestions))
        await settle(app, pilot)
        text = "\n".join(screen_lines(app))
        assert "T1     Tech T1" in text and "+12 min travel, 0 min late" in text
        assert "+20 min travel, 15 min late, 5 min overtime" in text
        assert "cost" not in text


async def test_help_names_keys_and_views_as_people_read_them(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = "\n".join(screen_lines(app))
        assert "Screen" not in text and "question_mark" not in text and "slash" not in text
        assert "Technicians" in text


async def test_the_board_lands_on_the_job_chosen_in_the_queue(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("3")
        await settle(app, pilot)
        board = app.screen
        assert isinstance(board, BoardScreen)
        await until(pilot, lambda: board.loaded.is_set())
        await settle(app, pilot)
        assert app.selected_job == "J-PLUMB"
