"""Searches run in the warm solver process: the console's loop and the live feed go on while one runs,
the answer fills the dialog when it comes, and Esc ends the search (a fresh process takes the next one)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import partial
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import LoadingIndicator

from data import planning
from data.db import Database
from data.feed import last_seq, tail
from data.services.jobs import assign_job
from dispatch_tui.app import DispatchApp
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.jobs import JobsScreen
from dispatch_tui.screens.suggestions import SuggestionsScreen
from optimizer.solver_process import SolverProcess
from tests.console.conftest import make_app, settle, until
from tests.console.solver_child import held_suggest
from tests.console.test_console_actions import select_job
from tests.factories import ADMIN, local


@pytest.fixture
def held(tmp_path: Path, monkeypatch: Any) -> Iterator[Listener]:
    """Every suggestion search connects here from the process that runs it and waits for a word."""
    address = str(tmp_path / "search.sock")
    listener = Listener(address, family="AF_UNIX")
    monkeypatch.setattr(planning, "plan_suggest", SimpleNamespace(suggest=partial(held_suggest, address)))
    yield listener
    listener.close()


@pytest.fixture
def solver() -> Iterator[SolverProcess]:
    process = SolverProcess()
    yield process
    process.close()


async def _search_started(app: DispatchApp, pilot: Pilot[None], listener: Listener) -> tuple[Connection, int]:
    """The search's connection and the pid of the process running it, once it has started there."""
    started: list[tuple[Connection, int]] = []

    def accept() -> None:
        search = listener.accept()
        started.append((search, search.recv()))

    threading.Thread(target=accept, daemon=True).start()
    await until(pilot, lambda: bool(started) or _shown_error(app))
    assert started, _shown_error(app)
    return started[0]


async def _ask_for_suggestions(app: DispatchApp, pilot: Pilot[None]) -> JobsScreen:
    """`s` on J-HVAC in the jobs queue; returns the queue."""
    await settle(app, pilot)
    jobs = app.screen
    assert isinstance(jobs, JobsScreen)
    await select_job(app, pilot, "J-HVAC")
    await pilot.press("s")
    return jobs


def _shown_error(app: DispatchApp) -> str:
    boxes = app.screen.query("#error")
    return str(boxes.first().render()) if boxes else ""


async def test_the_feed_goes_on_while_the_search_runs_in_the_solver_process(
    world_db: Database, held: Listener, solver: SolverProcess
) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    app.ctx.solver = solver
    async with app.run_test(size=(80, 24)) as pilot:
        jobs = await _ask_for_suggestions(app, pilot)
        search, pid = await _search_started(app, pilot, held)
        assert pid != os.getpid() and pid == solver.pid  # the search is in the solver's own process
        dialog = app.screen
        assert isinstance(dialog, SuggestionsScreen) and dialog.query_one(LoadingIndicator).display
        plumb = jobs.table.job("J-PLUMB")
        assert plumb is not None
        before = last_seq(world_db)
        assign_job(world_db, ADMIN, "J-PLUMB", "T2", local(12), reassign=True)
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: (row := jobs.table.job("J-PLUMB")) is not None and row.version > plumb.version)
        search.send("go")
        await until(pilot, lambda: bool(dialog.suggestions) or bool(_shown_error(app)))
        assert not _shown_error(app) and not dialog.query_one(LoadingIndicator).display and solver.calls == 1


async def test_esc_ends_the_search_and_a_fresh_process_takes_the_next(
    world_db: Database, held: Listener, solver: SolverProcess
) -> None:
    app = make_app(world_db, start_view="jobs")
    app.ctx.solver = solver
    async with app.run_test(size=(80, 24)) as pilot:
        jobs = await _ask_for_suggestions(app, pilot)
        first, pid = await _search_started(app, pilot, held)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is jobs)
        await until(pilot, lambda: solver.pid not in (None, pid))  # a fresh process, the old one ended
        with pytest.raises(EOFError):  # the one that ran the search is gone
            first.recv()
        await pilot.press("s")
        second, next_pid = await _search_started(app, pilot, held)
        assert next_pid != pid
        second.send("go")
        dialog = app.screen
        assert isinstance(dialog, SuggestionsScreen)
        await until(pilot, lambda: bool(dialog.suggestions))
