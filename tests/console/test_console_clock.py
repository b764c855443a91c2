"""One clock on screen: freshness, history and conflicts read the board's clock (the demo's in the demo)."""

from __future__ import annotations

from datetime import datetime

from data.db import Database
from data.services.jobs import set_pinned
from dispatch_tui.screens.job_detail import JobDetailScreen
from tests.console.conftest import NOW, make_app, settle, until
from tests.factories import ADMIN


def on_frozen_clock(_at: datetime) -> datetime:
    """What the demo's mapping does to a stamp made just now: the console's (here frozen) now."""
    return NOW


async def test_freshness_is_a_time_on_the_console_clock(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: app.freshness_text.startswith("updated"))
        assert app.freshness_text.startswith("updated 10:30:00 ·")


async def test_a_conflict_says_when_on_the_console_clock_in_the_branch_zone(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    app.ctx.recorded = on_frozen_clock
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down")  # J-PLUMB, as this console read it
        assert app.selected_job == "J-PLUMB"
        set_pinned(world_db, ADMIN, "J-PLUMB", True)  # someone else, meanwhile (no feed here)
        await pilot.press("p")
        await until(pilot, lambda: "changed by ada" in app.status_text)
        assert "changed by ada at 10:30" in app.status_text and "UTC" not in app.status_text


async def test_history_is_on_the_console_clock(world_db: Database) -> None:
    app = make_app(world_db)
    app.ctx.recorded = on_frozen_clock
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.open_job("J-PLUMB")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        await until(pilot, lambda: screen.detail is not None)
        shown = str(screen.render_detail(screen.detail).renderables[-1])  # type: ignore[arg-type]
        assert "Wed 25.11 10:30 #" in shown
