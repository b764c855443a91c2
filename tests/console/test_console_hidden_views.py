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


async def test_a_burst_of_events_loses_no_row_update_and_reads_few_times(world_db: Database) -> None:
    """Forty status changes over three technicians, pushed while reads are in flight: each row ends on
    its last status, and the view reads far fewer times than events came (they coalesce per read)."""
    from data.models import TechnicianStatus
    from data.services.technicians import set_technician_status

    reads: list[Any] = []

    def board(*args: Any) -> list[queries.TechnicianRow]:
        reads.append(args[4] if len(args) > 4 else None)
        return queries.technician_board(*args)

    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, tick_seconds=0.05)
    app.ctx.queries = replace(ReadModels(), technician_board=board)
    cycle = (TechnicianStatus.EN_ROUTE, TechnicianStatus.ON_SITE, TechnicianStatus.BREAK, TechnicianStatus.AVAILABLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TechniciansScreen)
        last: dict[str, str] = {}
        for i in range(40):
            code, status = ("T1", "T2", "T3")[i % 3], cycle[i % 4]
            before = last_seq(world_db)
            set_technician_status(world_db, ADMIN, code, status)
            await feed.push(tail(world_db, before))  # one event a batch, no pause: a burst
            last[code] = status.value.replace("_", " ")
        await until(pilot, lambda: all(screen.table.get_row(c)[1].plain == s for c, s in last.items()))
        assert len(reads) < 20
