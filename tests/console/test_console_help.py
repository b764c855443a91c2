"""Help inside the product: `?` explains the view on screen, a new company gets its first steps, `dispatch help`."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static
from typer.testing import CliRunner

from data.db import Database
from data.models import Branch
from dispatch_tui.cli.main import app as cli
from dispatch_tui.help_topics import VIEW_HELP
from dispatch_tui.screens.deliveries import COLUMNS as DELIVERY_COLUMNS
from dispatch_tui.screens.first_run import FirstRunScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.widgets.job_table import COLUMNS as JOB_COLUMNS
from dispatch_tui.widgets.technician_table import COLUMNS as TECHNICIAN_COLUMNS
from tests.console.conftest import make_app, settle
from tests.factories import SUPERVISOR

runner = CliRunner()


def help_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, HelpScreen)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.about_view(), screen.keys_table())
    return console.export_text()


@pytest.mark.parametrize(
    ("view", "columns"), [("jobs", JOB_COLUMNS), ("technicians", TECHNICIAN_COLUMNS), ("deliveries", DELIVERY_COLUMNS)]
)
def test_every_column_a_table_shows_is_explained(view: str, columns: tuple) -> None:  # type: ignore[type-arg]
    assert [c.label for c in columns] == list(VIEW_HELP[view].columns)


async def test_question_mark_explains_the_board_glyphs_and_marks_keys_a_role_cannot_use(world_db: Database) -> None:
    app = make_app(world_db, SUPERVISOR, start_view="board")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = help_text(app)
        assert "board: The schedule board" in text and "a pinned job: re-planning leaves it where it is" in text
        assert "Assign (not for you: read-only: supervisors cannot assign jobs)" in text
        assert "dispatch help board" in text


async def test_question_mark_on_the_jobs_view_explains_its_columns(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = help_text(app)
        assert "late (SLA passed) or at risk" in text and "not for you" not in text


async def test_a_new_company_opens_on_the_first_steps(sqlite_db: Database) -> None:
    with sqlite_db.write_session() as s, s.begin():
        s.add(Branch(code="HEL", name="Helsinki", timezone="Europe/Helsinki", depot_lat=60.17, depot_lon=24.94))
    app = make_app(sqlite_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, FirstRunScreen)
        steps = str(app.screen.query_one("#first-steps", Static).render())
        assert "1. [x] a branch" in steps and "2. [ ] technicians" in steps and "dispatch import technicians" in steps
        assert "5. [ ] a first plan" in steps
        await pilot.press("escape")
        assert not isinstance(app.screen, FirstRunScreen)


async def test_a_company_with_work_opens_on_its_view(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not isinstance(app.screen, FirstRunScreen)


def test_dispatch_help_topics_views_and_first_steps(world_db: Database) -> None:
    listed = runner.invoke(cli, ["help"])
    assert listed.exit_code == 0 and "start" in listed.stdout and "board" in listed.stdout
    board = runner.invoke(cli, ["help", "board"])
    assert board.exit_code == 0 and "a break" in board.stdout
    start = runner.invoke(cli, ["--db", world_db.url, "help", "start"])
    assert start.exit_code == 0 and "[ done] technicians" in start.stdout and "[to do] a first plan" not in start.stdout
    unknown = runner.invoke(cli, ["help", "gantt"])
    assert unknown.exit_code == 2 and "no such topic" in unknown.stderr
