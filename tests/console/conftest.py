"""Console test fixtures: a small world or a seeded demo company, a frozen clock and a fake feed."""

from __future__ import annotations

import html
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from data.actor import Actor
from data.db import Database, create_database_engine, open_database
from data.demo import build_demo
from data.models import JobType
from data.services.jobs import JobDraft, assign_job, create_job
from dispatch_tui.app import DispatchApp
from dispatch_tui.context import ConsoleContext
from dispatch_tui.feed_source import FakeFeed, FeedSource
from tests.factories import DAY, DISPATCHER, build_world, local

NOW = local(10, 30)
"""The frozen 'now' of every console test: Wednesday 25 Nov 2026, 10:30 in Helsinki."""
DEMO_NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def frozen() -> datetime:
    return NOW


@pytest.fixture
def world_db(sqlite_db: Database) -> Database:
    """build_world plus three jobs: J-HVAC (hvac 2, unassigned, SLA 12:00), J-PLUMB on T2 at 11:00, J-ELEC (P1)."""
    build_world(sqlite_db)
    create_job(
        sqlite_db,
        DISPATCHER,
        JobDraft(
            JobType.REPAIR,
            "S1",
            "Heat pump [noisy] fan",
            60,
            priority=2,
            skills={"hvac": 2},
            asset_serial="HP-001",
            ref="J-HVAC",
            created_at=local(8),
            sla_due=local(12),
        ),
    )
    create_job(
        sqlite_db,
        DISPATCHER,
        JobDraft(JobType.REPAIR, "S2", "Leaking tap", 45, skills={"plumbing": 1}, ref="J-PLUMB", created_at=local(7)),
    )
    assign_job(sqlite_db, DISPATCHER, "J-PLUMB", "T2", local(11))
    create_job(
        sqlite_db,
        DISPATCHER,
        JobDraft(
            JobType.INSPECTION,
            "S3",
            "Fuse board check",
            30,
            priority=1,
            skills={"electrical": 1},
            ref="J-ELEC",
            created_at=local(9),
            sla_due=local(10),
        ),
    )
    return sqlite_db


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded demo company built once per session; tests get copies."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    db = open_database(f"sqlite:///{path}")
    build_demo(db, seed=7, technicians=12, customers=60, jobs_today=40, history_days=3, today=DAY, now=DEMO_NOW)
    db.dispose()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "demo.sqlite"
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    db = Database(url, create_database_engine(url))
    yield db
    db.dispose()


def make_context(
    db: Database, actor: Actor = DISPATCHER, branch: str = "HEL", clock: Callable[[], datetime] = frozen
) -> ConsoleContext:
    return ConsoleContext(db, actor, branch, DAY, clock=clock)


def make_app(
    db: Database,
    actor: Actor = DISPATCHER,
    *,
    branch: str = "HEL",
    feed: FeedSource | None = None,
    start_view: str = "technicians",
    tmp_config: Path | None = None,
    tick_seconds: float = 0.3,
    theme: str = "textual-dark",
    ascii_only: bool = False,
) -> DispatchApp:
    ctx = make_context(db, actor, branch)
    ctx.config_dir = tmp_config
    ctx.ascii_only = ascii_only
    feed = feed if feed is not None else FakeFeed()
    return DispatchApp(ctx, feed, start_view=start_view, tick_seconds=tick_seconds, theme=theme)


WAIT_SECONDS = 60.0
"""How long a console test waits for what must happen: reached only when something is broken, never on a busy
machine (5 s was, on a loaded 2-core box)."""


async def settle(app: DispatchApp, pilot: Pilot[None], seconds: float = 0.0, timeout: float = WAIT_SECONDS) -> None:
    """Wait until the console's short-lived workers (loads, actions) are done and the screen repainted."""
    if seconds:
        await pilot.pause(seconds)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        busy = [w for w in app.workers if w.group not in ("feed", "background") and not w.is_finished]
        if not busy:
            break
    await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    """Wait for `condition` (a tick to fire, a row to change); fail naming the wait only if it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout} s"
        await pilot.pause(0.02)


CELL_WIDTH = 12.2
"""Width of one terminal cell in Textual's SVG export."""
_TEXT = re.compile(r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>')


def screen_lines(app: DispatchApp) -> list[str]:
    """What the terminal shows, one string per row (from Textual's SVG export, so dialogs and what lies
    under them are composed exactly as drawn)."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    svg = app.export_screenshot()
    for x, line, text in _TEXT.findall(svg):
        column = round(float(x) / CELL_WIDTH)
        for k, ch in enumerate(html.unescape(text).replace("\xa0", " ")):
            if 0 <= int(line) < height and 0 <= column + k < width:
                rows[int(line)][column + k] = ch
    return ["".join(r) for r in rows]
