"""x and a re-plan say what they change before, or undo covers them; long messages are never cut."""

from __future__ import annotations

from textual.widgets import Static

from data.db import Database
from data.models import JobStatus
from data.services.jobs import change_status
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.messages_log import MessagesScreen
from dispatch_tui.screens.pickers import Confirm
from tests.console.conftest import make_app, settle
from tests.console.test_console_actions import select_job, tech_code
from tests.factories import ADMIN, local


async def test_unassign_of_a_planned_job_states_its_undo(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("x")
        await settle(app, pilot)
        assert app.status_text == "J-PLUMB unassigned from T2 · u: put J-PLUMB back on T2 at 11:00"
    assert tech_code(world_db, "J-PLUMB") is None


async def test_unassign_of_a_dispatched_job_asks_first_over_the_view(world_db: Database) -> None:
    change_status(world_db, ADMIN, "J-PLUMB", JobStatus.DISPATCHED, at=local(10))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-PLUMB")
        await pilot.press("x")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, Confirm)
        assert dialog.question.startswith("Unassign J-PLUMB from T2 (11:00)? T2 has already been sent it")
        assert isinstance(app.screen_stack[-2], JobsScreen)  # drawn over the queue, which stays in view
        await pilot.press("n")
        await settle(app, pilot)
        assert tech_code(world_db, "J-PLUMB") == "T2"
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
    assert tech_code(world_db, "J-PLUMB") is None


async def test_a_long_message_goes_whole_to_a_notification_and_the_log(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        long = "T2 marked sick until 18:00; 6 planned job(s) now need a new technician: " + ", ".join(
            f"J00{i}" for i in range(6)
        )
        app.notice(long, "ok")
        await settle(app, pilot)
        assert app.messages[-1].text == long and app.messages[-1].notified  # whole, in a notification
        shown = str(app.screen.query_one("#status-message", Static).render())
        assert shown.endswith("… (:messages)") and len(shown) <= 80
        await pilot.press("colon", *"messages", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        assert long in screen.lines()
