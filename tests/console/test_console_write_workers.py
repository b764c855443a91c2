"""Write keys run in thread workers: the cursor keys go on while the database holds a write, and the
answer arrives when it lets go."""

from __future__ import annotations

import threading
from typing import Any

from data.db import Database
from dispatch_tui import actions
from dispatch_tui.screens.jobs import JobsScreen
from tests.console.conftest import make_app, settle, until
from tests.console.test_console_actions import select_job


async def test_cursor_keys_move_while_a_write_key_waits_for_the_database(world_db: Database, monkeypatch: Any) -> None:
    started, release = threading.Event(), threading.Event()
    real = actions.toggle_pin

    def held(*args: Any, **kwargs: Any) -> actions.Outcome:
        started.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "toggle_pin", held)
    app = make_app(world_db, start_view="jobs")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            jobs = app.screen
            assert isinstance(jobs, JobsScreen)
            await select_job(app, pilot, "J-PLUMB")
            row = jobs.table.cursor_row
            key, step = ("up", -1) if row else ("down", 1)
            await pilot.press("p")
            await until(pilot, started.is_set)
            await pilot.press(key)  # the write is still in flight
            await until(pilot, lambda: jobs.table.cursor_row == row + step)
            assert "pinned" not in app.status_text
            release.set()
            await until(pilot, lambda: "J-PLUMB pinned" in app.status_text)
    finally:
        release.set()
