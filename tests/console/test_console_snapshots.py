"""SVG snapshots of every view on the seeded demo company (frozen clock, fake feed) at 80x24 and 160x48,
in a dark and a light theme and with NO_COLOR, plus --ascii for the board and the map.

Regenerate with `./dev run pytest tests/console/test_console_snapshots.py --snapshot-update` and look at
the SVGs before committing.
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
LOOKS = [pytest.param("dark", id="dark"), pytest.param("light", id="light"), pytest.param("nocolor", id="nocolor")]
THEMES = {"dark": "textual-dark", "light": "textual-light", "nocolor": "textual-dark"}
VIEWS = ["technicians", "jobs", "board", "map", "calendar", "deliveries"]
Compare = Callable[..., bool]


def demo_app(db: Database, start_view: str, look: str, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> DispatchApp:
    if look == "nocolor":
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made, as a terminal's would be
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    return make_app(db, branch="HEL-C", start_view=start_view, theme=THEMES[look], **kw)


def then(*steps: Callable[[DispatchApp], object]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DispatchApp)
        await settle(app, pilot)
        for step in steps:
            step(app)
            await settle(app, pilot)
        # The key bar follows the cursor's target one refresh later: draw it from the settled screen.
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()

    return run


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", VIEWS)
def test_view(
    snap_compare: Compare,
    demo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    view: str,
    size: tuple[int, int],
    look: str,
) -> None:
    assert snap_compare(demo_app(demo_db, view, look, monkeypatch), terminal_size=size, run_before=then())


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("size", SIZES)
def test_job_detail_view(
    snap_compare: Compare, demo_db: Database, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], look: str
) -> None:
    branch = branch_info(demo_db, "HEL-C")
    ref = job_queue(demo_db, branch.id, DAY, NOW)[0].ref
    app = demo_app(demo_db, "jobs", look, monkeypatch)
    assert snap_compare(app, terminal_size=size, run_before=then(lambda a: a.open_job(ref)))


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("size", SIZES)
def test_help_screen(
    snap_compare: Compare, demo_db: Database, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], look: str
) -> None:
    app = demo_app(demo_db, "technicians", look, monkeypatch)
    assert snap_compare(app, terminal_size=size, run_before=then(lambda a: a.action_help()))


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("size", SIZES)
def test_messages_log(
    snap_compare: Compare, demo_db: Database, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], look: str
) -> None:
    app = demo_app(demo_db, "jobs", look, monkeypatch)
    steps = then(
        lambda a: a.notice("J000001 moved to T003 at 11:15", "ok"), lambda a: a.run_worker(a.run_command("messages"))
    )
    assert snap_compare(app, terminal_size=size, run_before=steps)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["board", "map"])
def test_ascii(
    snap_compare: Compare, demo_db: Database, monkeypatch: pytest.MonkeyPatch, view: str, size: tuple[int, int]
) -> None:
    app = demo_app(demo_db, view, "dark", monkeypatch, ascii_only=True)
    assert snap_compare(app, terminal_size=size, run_before=then())


def test_supervisor_jobs_view(snap_compare: Compare, demo_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(demo_db, SUPERVISOR, branch="HEL-C", start_view="jobs")
    assert snap_compare(app, terminal_size=(80, 24), run_before=then())
