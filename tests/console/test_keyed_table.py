"""The long tables: the cursor is a key, Home/End jump rows, a header click sorts, a row leaving is said."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.message import Message

from data.db import Database
from data.feed import last_seq, tail
from data.models.jobs import JobStatus
from data.services.jobs import change_status
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.job_table import JobTable
from dispatch_tui.widgets.keyed_table import Column, KeyedTable
from dispatch_tui.widgets.technician_table import COLUMNS as TECHNICIAN_COLUMNS
from dispatch_tui.widgets.technician_table import TechnicianTable
from tests.console.conftest import make_app, settle, until
from tests.factories import DISPATCHER


class _TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield KeyedTable([Column("ref", "Job", 8), Column("what", "What", 10)])

    def on_keyed_table_cursor_displaced(self, message: KeyedTable.CursorDisplaced) -> None:
        self.seen.append(message)


def header_x(columns: tuple[Column, ...], key: str) -> int:
    """The screen column of a header label (each column has one blank cell either side)."""
    x = 0
    for column in columns:
        if column.key == key:
            return x + 1
        x += (column.width or len(column.label)) + 2
    raise KeyError(key)


async def test_the_row_under_the_cursor_leaving_moves_it_to_the_next_row_and_says_so() -> None:
    app = _TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(KeyedTable)
        table.put({ref: (Text(ref), Text("x")) for ref in ("J1", "J2", "J3", "J4")})
        table.move_cursor(row=1)
        await pilot.pause()
        assert table.cursor_key() == "J2"
        table.drop(["J2"])
        await pilot.pause()
        assert table.cursor_key() == "J3"  # the row that took its place, never an index's new occupant unsaid
        assert [(m.gone, m.key, m.removed) for m in app.seen] == [("J2", "J3", True)]  # type: ignore[attr-defined]
        table.move_cursor(row=2)  # J4, the last
        table.drop(["J4"])
        await pilot.pause()
        assert table.cursor_key() == "J3"  # the last row left: the one above it


async def test_a_job_leaving_the_queue_under_the_cursor_is_said_in_the_status_line(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        await pilot.press("down")  # J-HVAC
        await settle(app, pilot)
        assert screen.table.cursor_key() == "J-HVAC"
        before = last_seq(world_db)
        change_status(world_db, DISPATCHER, "J-HVAC", JobStatus.CANCELLED)
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: "J-HVAC" not in screen.table.rows)
        await settle(app, pilot)
        assert screen.table.cursor_key() == "J-PLUMB"
        assert app.status_text == "J-HVAC left this view; the cursor is on J-PLUMB, the next row"
        assert app.job_target() is not None and app.job_target().ref == "J-PLUMB"  # type: ignore[union-attr]


async def test_end_and_home_jump_to_the_last_and_first_row(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        assert screen.table.cursor_key() == "J-ELEC"
        await pilot.press("end")
        await settle(app, pilot)
        assert screen.table.cursor_key() == "J-PLUMB"
        assert app.selected_job == "J-PLUMB"
        await pilot.press("home")
        await settle(app, pilot)
        assert screen.table.cursor_key() == "J-ELEC"


async def test_clicking_a_column_header_sorts_by_it_and_again_reverses(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TechniciansScreen)
        table = screen.table
        assert table.get_row_index("T2") == 1  # by code
        x = header_x(TECHNICIAN_COLUMNS, "load")
        await pilot.click(TechnicianTable, offset=(x, 0))
        await settle(app, pilot)
        assert table.get_row_index("T2") == 2  # the only loaded technician, last
        assert app.status_text == "technicians sorted by Load (click again to reverse)"
        await pilot.click(TechnicianTable, offset=(x, 0))
        await settle(app, pilot)
        assert table.get_row_index("T2") == 0
        assert app.status_text == "technicians sorted by Load (reversed; click again for this view's own order)"
        await pilot.click(TechnicianTable, offset=(x, 0))
        await settle(app, pilot)
        assert table.get_row_index("T2") == 1 and table.sorted_by is None
        assert app.status_text == "technicians back in this view's own order"


async def test_clicking_the_priority_header_twice_puts_the_lowest_priority_first(world_db: Database) -> None:
    from dispatch_tui.widgets.job_table import COLUMNS as JOB_COLUMNS

    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(JobTable)
        x = header_x(JOB_COLUMNS, "p")
        await pilot.click(JobTable, offset=(x, 0))
        await pilot.click(JobTable, offset=(x, 0))
        await settle(app, pilot)
        assert [table.get_row_index(ref) for ref in ("J-PLUMB", "J-HVAC", "J-ELEC")] == [0, 1, 2]
        assert table.cursor_key() == "J-ELEC"  # the cursor stays on its job wherever it moved
