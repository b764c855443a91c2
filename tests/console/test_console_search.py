"""Getting around: a view tab clicked switches view; `/` (or ctrl+f) searches the branch from any view."""

from __future__ import annotations

from data.db import Database
from dispatch_tui.screens.board import BoardScreen
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.search import SearchScreen
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.title_bar import TitleBar
from tests.console.conftest import make_app, settle, until


async def test_clicking_a_view_tab_in_the_title_bar_switches_to_that_view(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        bar = app.screen.query_one(TitleBar)
        x = bar.shown.index("3 Board") + 1  # one cell of padding before the text
        await pilot.click(TitleBar, offset=(x + 1, 0))
        await settle(app, pilot)
        assert isinstance(app.screen, BoardScreen)
        assert "[3 Board]" in app.title_text


async def test_slash_on_the_board_searches_and_a_job_hit_opens_the_job(world_db: Database) -> None:
    app = make_app(world_db, start_view="board")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, SearchScreen)
        await pilot.press(*"leaking")
        await until(pilot, lambda: [h.key for h in dialog.hits] == ["J-PLUMB"])
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, JobDetailScreen)
        assert app.screen.ref == "J-PLUMB"


async def test_ctrl_f_searches_where_slash_filters_and_a_technician_hit_shows_the_technician(
    world_db: Database,
) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen) and app.screen.query_one("#filter").display  # / filters here
        await pilot.press("escape", "ctrl+f")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, SearchScreen)
        await pilot.press(*"T3")
        await until(pilot, lambda: bool(dialog.hits) and dialog.hits[0].key == "T3")
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TechniciansScreen)
        assert screen.table.cursor_key() == "T3"
