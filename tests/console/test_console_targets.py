"""Keys act on the record under the cursor of the screen on view, never on a hidden screen's cursor."""

from __future__ import annotations

from textual.app import App, ComposeResult

from data.db import Database
from data.feed import last_seq, tail
from data.services.jobs import assign_job
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.keyed_table import Column, KeyedTable
from tests.console.conftest import make_app, settle
from tests.console.test_console_actions import job
from tests.factories import ADMIN, local


async def test_pin_on_a_job_detail_pins_that_job_after_the_hidden_queue_refreshed(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        jobs = app.screen
        assert isinstance(jobs, JobsScreen) and jobs.table.cursor_key() == "J-ELEC"
        await pilot.press("colon", *"job J-PLUMB", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, JobDetailScreen)
        before = last_seq(world_db)
        assign_job(world_db, ADMIN, "J-HVAC", "T1", local(13))  # someone else; the hidden queue re-reads it
        await feed.push(tail(world_db, before))
        await settle(app, pilot, seconds=app.tick_seconds + 0.1)
        await settle(app, pilot)
        assert isinstance(app.screen, JobDetailScreen)
        await pilot.press("p")
        await settle(app, pilot)
        assert app.status_text.startswith("J-PLUMB pinned"), app.status_text
    assert job(world_db, "J-PLUMB").pinned
    assert not job(world_db, "J-HVAC").pinned


async def test_job_keys_are_not_offered_in_the_technicians_view(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down")  # J-HVAC in the queue
        await settle(app, pilot)
        await pilot.press("1")
        await settle(app, pilot)
        assert isinstance(app.screen, TechniciansScreen)
        for action in ("assign", "unassign", "move", "pin", "status", "suggest", "note"):
            assert not app.check_action(action, ()), action
        await pilot.press("p", "x")
        await settle(app, pilot)
    assert not job(world_db, "J-HVAC").pinned
    assert not job(world_db, "J-PLUMB").pinned and job(world_db, "J-PLUMB").technician_id is not None


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([Column("ref", "Job", 8), Column("what", "What", 10)])


async def test_a_row_removed_above_the_cursor_leaves_the_cursor_on_the_same_job() -> None:
    from rich.text import Text

    app = _TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(KeyedTable)
        table.put({ref: (Text(ref), Text("x")) for ref in ("J1", "J2", "J3", "J4")})
        table.move_cursor(row=2)
        await pilot.pause()
        assert table.cursor_key() == "J3"
        table.drop(["J1"])
        await pilot.pause()
        assert table.cursor_key() == "J3"
        table.put({"J0": (Text("J0"), Text("y"))})  # a row inserted above it
        await pilot.pause()
        assert table.cursor_key() == "J3"
        table.put({"J2": (Text("J2"), Text("z"))})  # a row that changed, not filtered out
        table.set_filter("x")  # J2 and J0 hidden by the filter
        await pilot.pause()
        assert table.cursor_key() == "J3"
