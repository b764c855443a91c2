"""Readable everywhere: what is typed shows, dialogs sit over their view, nothing is cut, wide screens are used."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from rich.style import Style

from data.db import Database
from data.models.jobs import JobStatus
from data.models.workforce import AbsenceKind
from data.queries.console import TechnicianRow
from data.services.jobs import change_status
from data.services.technicians import mark_absent
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.widgets.schedule_board import ScheduleBoard
from tests.console.conftest import make_app, screen_lines, settle
from tests.factories import ADMIN, DISPATCHER, SUPERVISOR, local

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def test_the_command_line_shows_what_is_typed(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"job J-PLUMB")
        await settle(app, pilot)
        assert "job J-PLUMB" in screen_lines(app)[-1]


async def test_a_dialog_is_shown_over_the_view_it_acts_on(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("A")  # mark the technician under the cursor absent: a dialog
        await settle(app, pilot)
        lines = screen_lines(app)
        assert any("is absent from now: why?" in line for line in lines)
        assert "HEL" in lines[0] and "T1" in lines[2]  # the title bar and the first technician, still there


@pytest.mark.parametrize("size", SIZES)
async def test_the_title_is_never_cut(world_db: Database, size: tuple[int, int]) -> None:
    app = make_app(world_db, SUPERVISOR)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        title = screen_lines(app)[0]
        assert "6 Deliv" in title and "10:30" in title and ("READ-ONLY" in title or " RO " in title)


async def test_long_values_fit_their_cells() -> None:
    from dispatch_tui.widgets.technician_table import duration, render

    assert [duration(m) for m in (45, 60, 125, 9397)] == ["45 min", "1 h", "2 h 5 m", "6 d 12 h"]
    row = TechnicianRow(1, "T1", "Tech", "available", None, None, None, 9397, 0, 480, (), False, None)
    late = render(row, ZoneInfo("Europe/Helsinki"))[4].plain
    assert late == "+6 d 12 h" and len(late) <= 9


async def test_the_jobs_queue_shows_whole_statuses_and_skills_and_uses_a_wide_screen(world_db: Database) -> None:
    change_status(world_db, DISPATCHER, "J-PLUMB", JobStatus.DISPATCHED)
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(160, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        lines = screen_lines(app)
        assert any("dispatched" in line for line in lines)
        heat = next(line for line in lines if "J-HVAC" in line)
        assert "hvac2" in heat
        table = app.screen.table
        used = table.content_width
        assert used >= 150  # the summary takes the room the other columns leave


async def test_with_no_color_absence_and_lateness_are_reversed_not_grey(
    world_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    mark_absent(world_db, ADMIN, "T2", AbsenceKind.SICK, local(10), local(18))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        risk = app.screen.table.row_of("J-ELEC")[2]  # late
        assert risk.plain == "late" and Style.parse(str(risk.style)).reverse
        await pilot.press("1")
        await settle(app, pilot)
        status = app.screen.table.row_of("T2")[1]  # type: ignore[attr-defined]
        assert status.plain == "absent" and Style.parse(str(status.style)).reverse


async def test_a_light_theme_gives_the_board_light_lanes(world_db: Database) -> None:
    app = make_app(world_db, start_view="board", theme="textual-light")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        lane = app.screen.query_one(ScheduleBoard).get_component_styles("schedule-board--shift").background
        assert lane.brightness > 0.8
