"""The calendar: week and month layout, heat shades, recurring marks, navigation, Enter to the board."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from data.db import Database
from dispatch_tui.messages import DayChosen
from dispatch_tui.screens.calendar import CalendarScreen
from dispatch_tui.widgets.calendar_grid import CalendarGrid, heat_level, month_grid_start, week_start
from tests.console.test_board_world import ViewHarness, console_context, plan_day, settle
from tests.factories import DAY


def test_week_and_month_start_on_monday() -> None:
    assert week_start(date(2026, 11, 25)) == date(2026, 11, 23)
    assert month_grid_start(date(2026, 11, 25)) == date(2026, 10, 26)  # 1 Nov 2026 is a Sunday


@pytest.mark.parametrize(("jobs", "busiest", "level"), [(0, 10, 0), (1, 100, 1), (5, 10, 2), (10, 10, 4), (3, 0, 0)])
def test_heat_level_scales_to_the_busiest_day(jobs: int, busiest: int, level: int) -> None:
    assert heat_level(jobs, busiest) == level


async def test_week_view_shows_counts_and_enter_opens_the_day_on_the_board(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(CalendarScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        await screen.loaded.wait()
        await pilot.pause()
        grid = screen.grid
        assert grid.mode == "week" and grid.cursor == DAY
        header = grid.render_line(1).text
        assert "3j" in header and "!1" in header
        await pilot.press("left")
        assert grid.cursor == DAY - timedelta(days=1)
        await pilot.press("enter")
        await pilot.pause()
        chosen = [m for m in app.seen if isinstance(m, DayChosen)]
        assert [(m.day, m.view) for m in chosen] == [(DAY - timedelta(days=1), "board")]


async def test_month_toggle_and_previous_next(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(CalendarScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        await screen.loaded.wait()
        grid = screen.grid
        screen.loaded.clear()
        await pilot.press("M")
        await screen.loaded.wait()
        await pilot.pause()
        assert grid.mode == "month" and grid.data is not None
        assert grid.data.start == date(2026, 10, 26) and grid.data.days[DAY].jobs == 3
        lines = [grid.render_line(y).text for y in range(1, 20)]
        assert any("3j !1" in line for line in lines), lines
        screen.loaded.clear()
        await pilot.press("right_square_bracket")
        await screen.loaded.wait()
        assert grid.cursor == date(2026, 12, 1) and grid.data.start == date(2026, 11, 30)
        screen.loaded.clear()
        await pilot.press("w")
        await screen.loaded.wait()
        assert grid.mode == "week" and grid.data.start == date(2026, 11, 30)


async def test_technician_week_marks_recurring_maintenance(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    app = ViewHarness(lambda ctx: CalendarScreen(ctx, technician_code="T1"), console_context(sqlite_db))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        await screen.loaded.wait()
        await pilot.pause()
        text = "\n".join(screen.grid.render_line(y).text for y in range(40))
        assert f"↻10:30 {refs['maint']}" in text
        assert f"!09:00 {refs['p1']}" in text


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_calendar_snapshot(sqlite_db: Database, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    plan_day(sqlite_db)
    app = ViewHarness(lambda ctx: CalendarScreen(ctx, technician_code="T1"), console_context(sqlite_db))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await app.screen.loaded.wait()  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


async def test_branch_week_counts_jobs_per_slot(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(CalendarScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        await screen.loaded.wait()
        await pilot.pause()
        grid = screen.grid
        assert grid.rows_per_hour() == 1
        # 09:00 holds the P1 job, 10:00 none (P1 ends 10:00, maintenance starts 10:30 -> 10:00 slot has it).
        assert [len(grid.week_slot(DAY, h - 6).entries) for h in (8, 9, 10, 11, 13, 14, 15)] == [0, 1, 1, 1, 1, 1, 0]
        assert grid.week_slot(DAY, 9 - 6).entries[0].priority == 1
        assert grid.week_slot(DAY, 14 - 6).absent  # T3 is off sick from 12:00
        assert " 1 !1" in grid.render_line(2 + 3).text


async def test_double_click_on_a_day_opens_it_on_the_board(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(CalendarScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        await screen.loaded.wait()
        await pilot.pause()
        grid = screen.grid
        friday_x = 6 + 4 * grid.day_width() + 2
        await pilot.click(CalendarGrid, offset=(friday_x, 5), times=2)
        await pilot.pause()
        assert grid.cursor == DAY + timedelta(days=2)
        assert [m.day for m in app.seen if isinstance(m, DayChosen)] == [DAY + timedelta(days=2)]
