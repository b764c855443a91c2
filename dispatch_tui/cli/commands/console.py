"""`dispatch console` (and bare `dispatch`): open the live console on the configured database."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.engine import make_url

from data.db import Database
from data.errors import DispatchError
from data.models.base import utcnow
from data.queries.console import branch_info
from dispatch_tui.cli.context import EXIT_BAD_INPUT, STATE, actor, db, fail, handles_errors
from dispatch_tui.context import ConsoleContext
from optimizer.solver_process import SolverProcess

DEMO_SPEEDUP = 20.0
"""The demo's day runs 20 times faster than the wall clock: an eight-hour shift in 24 minutes."""
DEMO_USER = "dana"

Background = Callable[[asyncio.Event], Awaitable[object]]
"""A task to run beside the console (the demo's field simulator, the integration worker) until it closes."""


def build_context(
    database: Database,
    branch: str | None = None,
    day: date | None = None,
    *,
    ascii_only: bool = False,
    mouse: bool = True,
) -> ConsoleContext:
    """The console session for the current user (from --as, $DISPATCH_USER or the OS login)."""
    who = actor("console")
    info = branch_info(database, branch)
    today = day or utcnow().astimezone(ZoneInfo(info.timezone)).date()
    return ConsoleContext(database, who, info.code, today, ascii_only=ascii_only, mouse=mouse)


def open_console(
    branch: str | None = None,
    *,
    mouse: bool = True,
    ascii_only: bool = False,
    day: date | None = None,
    background: Sequence[Background] = (),
    theme: str = "textual-dark",
) -> None:
    """Run the console in this terminal until the user quits (`q`, `:quit` or ctrl+q)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise fail("the console needs an interactive terminal (for scripts, use the other `dispatch` commands)")
    from dispatch_tui.app import DispatchApp
    from dispatch_tui.feed_source import LiveFeed
    from dispatch_tui.keymap import load_overrides

    try:
        ctx = build_context(db(), branch, day, ascii_only=ascii_only, mouse=mouse)
        keys = load_overrides()
    except DispatchError as e:
        raise fail(e.message, e.exit_code) from None
    except ValueError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    ctx.solver = SolverProcess()  # searches off the console's GIL (see optimizer.solver_process)
    app = DispatchApp(ctx, LiveFeed(ctx.db), keymap=keys, background=background, theme=theme)
    if theme not in app.available_themes:
        raise fail(f"--theme {theme}: not a theme (known: {', '.join(sorted(app.available_themes))})", EXIT_BAD_INPUT)
    app.run(mouse=mouse)
    if app.return_code:  # a crash: the app has printed where the details are
        raise typer.Exit(app.return_code)


def register(app: typer.Typer) -> None:
    @app.command("console")
    @handles_errors
    def console(
        branch: str | None = typer.Option(None, "--branch", help="Branch code to view (default: the first)."),
        no_mouse: bool = typer.Option(False, "--no-mouse", help="Ignore the mouse (recommended over SSH)."),
        ascii_only: bool = typer.Option(False, "--ascii", help="ASCII glyphs only, for poor terminals."),
        day: str | None = typer.Option(
            None, "--day", help="Local day to view: YYYY-MM-DD, today, tomorrow, mon, +2d (default: today)."
        ),
        theme: str = typer.Option(
            "textual-dark",
            "--theme",
            help="Colour theme, e.g. textual-light on a light terminal (NO_COLOR is obeyed).",
        ),
    ) -> None:
        """Open the live dispatch console: technicians, jobs, board, map, calendar; dispatch by keyboard."""
        chosen = None
        if day is not None:
            from dispatch_tui.cli.commands.jobs import branch_zone
            from dispatch_tui.cli.dates import parse_day

            chosen = parse_day(day, branch_zone(db(), branch), "--day")
        open_console(branch, mouse=not no_mouse, ascii_only=ascii_only, day=chosen, theme=theme)


def demo_console_wanted(flag: bool) -> bool:
    """`dispatch demo` opens the console only for a person at a terminal (never in CI or a pipe)."""
    return flag and sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")


def open_demo_console(
    url: str, *, speedup: float = DEMO_SPEEDUP, as_user: str | None = None, start: datetime | None = None
) -> None:
    """The console on the demo company, with the field simulator moving the day and the worker delivering.

    The console's clock runs at the simulator's pace, so lateness and "now" match what the field does.
    """
    from data.db import open_database
    from data.services.users import resolve_actor
    from data.simulator import FieldSimulator
    from dispatch_tui.app import DispatchApp
    from dispatch_tui.feed_source import LiveFeed

    database = open_database(url)
    try:
        who = resolve_actor(database, as_user or STATE.as_user or DEMO_USER, "console")
    except DispatchError as e:
        raise fail(e.message, e.exit_code) from None
    wall_start = utcnow()
    start = start or wall_start

    def on_demo_clock(at: datetime) -> datetime:
        return start + (at - wall_start) * speedup

    def simulated_now() -> datetime:
        return on_demo_clock(utcnow())

    info = branch_info(database, None)
    day = start.astimezone(ZoneInfo(info.timezone)).date()
    ctx = ConsoleContext(database, who, info.code, day, simulated_now, recorded=on_demo_clock)
    ctx.solver = SolverProcess()
    simulator = FieldSimulator(database, speedup=speedup, start=start)
    background: list[Background] = [lambda stop: simulator.run(stop, 1.0)]
    worker = _delivery_worker(database, demo_integrations_config(url))
    if worker is not None:
        background.append(worker)
    app = DispatchApp(ctx, LiveFeed(database), background=background)
    try:
        app.run()
    finally:
        database.dispose()
    if app.return_code:
        raise typer.Exit(app.return_code)


def demo_integrations_config(url: str) -> Path | None:
    """The demo's own integrations file beside its database: a JSON Lines sink that receives completions,
    notes, invoice drafts and timesheets, so deliveries flow visibly with no account anywhere.
    A user's own configuration ($DISPATCH_INTEGRATIONS_CONFIG) wins."""
    if os.environ.get("DISPATCH_INTEGRATIONS_CONFIG"):
        return None
    database_path = make_url(url).database
    if not database_path:
        return None
    folder = Path(database_path).parent
    path = folder / "demo-integrations.toml"
    if not path.exists():
        path.write_text(
            "# Written by `dispatch demo`: every completion, note, invoice draft and timesheet goes to a\n"
            "# JSON Lines file beside the demo database. Add connectors (see integrations.example.toml).\n"
            "[connectors.demo_outbox]\n"
            'type = "jsonl"\n'
            "enabled = true\n"
            'events = ["job.completed", "job.note_added", "invoice.drafted", "timesheet.closed", '
            '"job.status_changed"]\n'
            f'path = "{folder / "demo-outbox.jsonl"}"\n',
            encoding="utf-8",
        )
    return path


def _delivery_worker(database: Database, config_file: Path | None = None) -> Background | None:
    """The integration worker's loop, when connectors are configured."""
    try:
        from integrations.config import load_config
        from integrations.delivery.worker import Worker
    except ImportError:
        return None
    try:
        config = load_config(config_file)
    except Exception:  # a broken integrations file must not stop the demo; `dispatch worker` reports it
        return None
    if not config.enabled():
        return None
    worker = Worker(database, config)
    return lambda stop: worker.run(stop=stop)
