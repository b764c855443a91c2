"""Only the view on screen reads: a hidden view marks what went stale and catches up once when shown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from data.db import Database
from data.feed import last_seq, tail
from data.queries import console as queries
from data.services.jobs import assign_job
from dispatch_tui.context import ReadModels
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.key_bar import KeyBar
from tests.console.conftest import make_app, settle, until
from tests.factories import ADMIN, local


async def test_a_hidden_jobs_queue_reads_nothing_and_catches_up_once_when_shown(world_db: Database) -> None:
    reads: list[Any] = []

    def queue(*args: Any) -> list[queries.JobRow]:
        reads.append(args[4] if len(args) > 4 else None)
        return queries.job_queue(*args)

    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    app.ctx.queries = replace(ReadModels(), job_queue=queue)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert reads == [None]
        await pilot.press("1")  # the queue is hidden now
        await settle(app, pilot)
        assert isinstance(app.screen, TechniciansScreen)
        before = last_seq(world_db)
        assign_job(world_db, ADMIN, "J-HVAC", "T1", local(11, 30))
        await feed.push(tail(world_db, before))
        await settle(app, pilot, seconds=app.tick_seconds + 0.1)
        await settle(app, pilot)
        assert reads == [None]  # the technicians view on screen re-read its rows; the queue did not
        await pilot.press("2")
        await settle(app, pilot)
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        await until(pilot, lambda: jobs.table.get_row("J-HVAC")[4].plain == "T1")
        assert len(reads) == 2 and reads[1] is not None and len(reads[1]) == 1  # the one stale job, once


async def test_the_key_bar_is_one_widget_and_a_click_on_a_key_presses_it(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        bar = app.screen.query_one(KeyBar)
        assert not bar.children
        line = bar.render().plain
        assert "/ Filter" in line and "a Assign" in line and "^p palette" in line
        await pilot.click(KeyBar, offset=(line.index("/ Filter") + 1, 0))
        await settle(app, pilot)
        assert app.screen.query_one("#filter").display
