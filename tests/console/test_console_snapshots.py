"""SVG snapshots of the console's views on the seeded demo company, frozen clock, fake feed.

Regenerate with `./dev run pytest tests/console --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from data.db import Database
from data.queries.console import branch_info, job_queue
from dispatch_tui.app import DispatchApp
from tests.console.conftest import NOW, make_app, settle
from tests.factories import DAY, SUPERVISOR

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
Compare = Callable[..., bool]


def demo_app(db: Database, start_view: str = "technicians", **kw: Any) -> DispatchApp:
    return make_app(db, branch="HEL-C", start_view=start_view, **kw)


def then(*steps: Callable[[DispatchApp], object]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DispatchApp)
        await settle(app, pilot)
        for step in steps:
            step(app)
            await settle(app, pilot)

    return run


@pytest.mark.parametrize("size", SIZES)
def test_technicians_view(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    assert snap_compare(demo_app(demo_db), terminal_size=size, run_before=then())


@pytest.mark.parametrize("size", SIZES)
def test_jobs_view(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    assert snap_compare(demo_app(demo_db, "jobs"), terminal_size=size, run_before=then())


@pytest.mark.parametrize("size", SIZES)
def test_job_detail_view(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    branch = branch_info(demo_db, "HEL-C")
    ref = job_queue(demo_db, branch.id, DAY, NOW)[0].ref
    app = demo_app(demo_db, "jobs")
    assert snap_compare(app, terminal_size=size, run_before=then(lambda a: a.open_job(ref)))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: Compare, demo_db: Database, size: tuple[int, int]) -> None:
    assert snap_compare(demo_app(demo_db), terminal_size=size, run_before=then(lambda a: a.action_help()))


def test_supervisor_jobs_view(snap_compare: Compare, demo_db: Database) -> None:
    app = make_app(demo_db, SUPERVISOR, branch="HEL-C", start_view="jobs")
    assert snap_compare(app, terminal_size=(80, 24), run_before=then())
