"""Nothing freezes: suggestions and re-plans compute in workers while keys and the live feed go on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import LoadingIndicator, Static

from data.db import Database
from data.errors import DispatchError
from data.feed import last_seq, tail
from data.services.jobs import assign_job
from dispatch_tui import actions
from dispatch_tui.app import DispatchApp
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.replan import ReplanScreen
from dispatch_tui.screens.suggestions import SuggestionsScreen
from tests.console.conftest import make_app, settle
from tests.console.test_console_actions import select_job
from tests.factories import ADMIN, local


async def until(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    assert condition(), "the console never got there"


async def test_keys_and_the_feed_go_on_while_suggestions_compute(world_db: Database, monkeypatch: Any) -> None:
    started, release = threading.Event(), threading.Event()
    real = actions.suggestions_for

    def slow(ctx: Any, ref: str, k: int = 5) -> list[actions.Suggestion]:
        started.set()
        release.wait(30)
        return real(ctx, ref, k)

    monkeypatch.setattr(actions, "suggestions_for", slow)
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            jobs = app.screen
            assert isinstance(jobs, JobsScreen)
            await select_job(app, pilot, "J-HVAC")
            await pilot.press("s")
            await until(pilot, started.is_set)
            dialog = app.screen
            assert isinstance(dialog, SuggestionsScreen)  # open at once, busy
            assert dialog.query_one(LoadingIndicator).display
            plumb = jobs.table.job("J-PLUMB")
            assert plumb is not None
            before = last_seq(world_db)
            assign_job(world_db, ADMIN, "J-PLUMB", "T2", local(12), reassign=True)  # meanwhile, someone else
            await feed.push(tail(world_db, before))
            await until(pilot, lambda: (row := jobs.table.job("J-PLUMB")) and row.version > plumb.version)
            await pilot.press("escape")  # cancel: the dialog goes, the answer is not awaited
            await until(pilot, lambda: app.screen is jobs)
            await pilot.press("down")
            await until(pilot, lambda: jobs.table.cursor_key() == "J-PLUMB")
    finally:
        release.set()


async def test_suggestions_fill_in_when_the_answer_comes(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await select_job(app, pilot, "J-HVAC")
        await pilot.press("s")
        await settle(app, pilot, timeout=30)
        dialog = app.screen
        assert isinstance(dialog, SuggestionsScreen)
        assert dialog.suggestions and not dialog.query_one(LoadingIndicator).display


def _failing(error: Exception) -> Callable[..., actions.ReplanProposal]:
    def fail(*_args: Any, **_kwargs: Any) -> actions.ReplanProposal:
        raise error

    return fail


async def _replan_error(app: DispatchApp, pilot: Pilot[None]) -> str:
    await settle(app, pilot)
    await pilot.press("R")
    await settle(app, pilot)
    dialog = app.screen
    assert isinstance(dialog, ReplanScreen)
    assert not dialog.query_one(LoadingIndicator).display
    return str(dialog.query_one("#error", Static).render())


async def test_a_replan_the_scheduler_cannot_make_says_why_in_place(world_db: Database, monkeypatch: Any) -> None:
    monkeypatch.setattr(actions, "propose_replan", _failing(DispatchError("no plan possible: no shift left today")))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await _replan_error(app, pilot) == "no plan possible: no shift left today"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
    assert app.return_code in (None, 0)


async def test_a_replan_whose_database_is_gone_leaves_the_console_up(world_db: Database, monkeypatch: Any) -> None:
    monkeypatch.setattr(actions, "propose_replan", _failing(OSError("disk I/O error: customer Kallio Bakery Oy")))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        text = await _replan_error(app, pilot)
        assert text.startswith("the re-plan failed (OSError)")
        assert "Kallio" not in text  # no record data from the failure's text
        assert app.is_running


async def test_closing_a_job_detail_while_it_loads_keeps_the_console_up(world_db: Database) -> None:
    """esc before the job's story arrives: the late answer is dropped, not a crash on a gone screen."""
    started, release, returned = threading.Event(), threading.Event(), threading.Event()
    app = make_app(world_db, start_view="jobs")
    real = app.ctx.queries.job_detail

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(30)
        try:
            return real(*args, **kwargs)
        finally:
            returned.set()

    app.ctx.queries = replace(app.ctx.queries, job_detail=slow)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("colon", *"job J-PLUMB", "enter")
            await until(pilot, started.is_set)
            assert isinstance(app.screen, JobDetailScreen)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, JobDetailScreen))
            release.set()
            await until(pilot, returned.is_set)
            await settle(app, pilot)
            assert app.is_running and app.return_code in (None, 0)
    finally:
        release.set()
