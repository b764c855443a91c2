"""Keys act on the record under the cursor of the screen on view, never on a hidden screen's cursor."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from data.db import Database
from data.feed import last_seq, tail
from data.services.jobs import assign_job
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.replan import ReplanScreen
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.keyed_table import Column, KeyedTable
from tests.console.conftest import make_app, settle
from tests.console.test_console_actions import job
from tests.factories import ADMIN, SUPERVISOR, local


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


WRITE_KEYS = {
    "a": "assign jobs",
    "x": "unassign jobs",
    "m": "move jobs",
    "p": "pin jobs",
    "S": "change a job's status",
    "s": "assign jobs from suggestions",
    "n": "add notes to jobs",
    "u": "undo changes",
}


async def test_every_write_key_tells_a_supervisor_why_it_does_nothing(world_db: Database) -> None:
    app = make_app(world_db, SUPERVISOR, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key, cannot in WRITE_KEYS.items():
            app.notice("")
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, JobsScreen), key
            assert app.status_text == f"read-only: supervisors cannot {cannot}", key
        await pilot.press("1", "A")
        await settle(app, pilot)
        assert app.status_text == "read-only: supervisors cannot mark technicians absent"
        await app.invoke("pin")  # as the command palette runs it
        assert app.status_text == "read-only: supervisors cannot pin jobs"
    assert job(world_db, "J-PLUMB").technician_id is not None and not job(world_db, "J-PLUMB").pinned


async def test_replan_for_a_supervisor_shows_the_proposal_and_never_offers_apply(world_db: Database) -> None:
    app = make_app(world_db, SUPERVISOR, start_view="jobs")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"replan", "enter")
        await settle(app, pilot, timeout=30)
        dialog = app.screen
        assert isinstance(dialog, ReplanScreen)
        assert dialog.proposal is not None and not dialog.proposal.empty
        assert not dialog.check_action("apply", ())
        assert "read-only: supervisors cannot apply a re-plan" in str(dialog.query_one("#hint", Static).render())
        await pilot.press("y", "enter")
        await settle(app, pilot)
    assert job(world_db, "J-HVAC").technician_id is None
