"""`dispatch demo`: build the seeded Helsinki demo company in its own database and show what it holds.

The console reuses `build_demo_database` and `print_summary`, so the demo is one function call away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from data.config import resolve_database_url
from data.db import create_database_engine, open_database
from data.demo import TZ as DEMO_TIMEZONE
from data.demo import DemoSummary, build_demo
from data.demo import Progress as ProgressCallback
from data.models.base import Base
from data.models.org import Branch
from data.paths import data_file
from dispatch_tui.cli.context import STATE, handles_errors, out


@dataclass
class DemoDatabase:
    url: str
    summary: DemoSummary | None  # None when an existing demo database was kept


def default_demo_path() -> Path:
    """Next to the real database, never in place of it."""
    return data_file("demo.sqlite")


def _drop_everything(url: str) -> None:
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        path = Path(sa_url.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_database_engine(url)
    try:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        engine.dispose()


def build_demo_database(
    url: str | None = None,
    *,
    fresh: bool = False,
    seed: int = 7,
    technicians: int = 25,
    customers: int = 300,
    jobs_today: int = 150,
    history_days: int = 90,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> DemoDatabase:
    """Build the demo company at `url` (default: user data dir demo.sqlite); keep an existing one unless fresh."""
    target = resolve_database_url(url or str(default_demo_path()))
    if fresh:
        _drop_everything(target)
    database = open_database(target)
    try:
        with database.read() as session:
            if session.scalar(select(func.count()).select_from(Branch)):
                return DemoDatabase(target, None)
        summary = build_demo(
            database,
            seed=seed,
            technicians=technicians,
            customers=customers,
            jobs_today=jobs_today,
            history_days=history_days,
            now=now,
            progress=progress,
        )
        return DemoDatabase(target, summary)
    finally:
        database.dispose()


def print_summary(result: DemoDatabase) -> None:
    if result.summary is None:
        out.print(f"The demo database already exists at {result.url} (use --fresh to rebuild it).", highlight=False)
        return
    s = result.summary
    table = Table(title=f"Demo company (seed {s.seed}, {s.day.isoformat()})", header_style="bold")
    table.add_column("what")
    table.add_column("rows", justify="right")
    for name in ("branches", "technicians", "customers", "sites", "assets", "contracts", "parts", "jobs", "job_notes"):
        table.add_row(name.replace("_", " "), f"{s.counts.get(name, 0):,}")
    table.add_row("jobs today: assigned", f"{s.jobs_today_assigned:,}")
    table.add_row("jobs today: unassigned", f"{s.jobs_today_unassigned:,}")
    out.print(table)
    out.print(f"built in {s.seconds:.2f} s at {result.url}", highlight=False)
    out.print(f"try: dispatch --db {result.url} jobs list", highlight=False)


@handles_errors
def demo_command(
    seed: int = typer.Option(7, "--seed", help="Same seed, same company."),
    technicians: int = typer.Option(25, "--technicians", min=1),
    customers: int = typer.Option(300, "--customers", min=1),
    jobs: int = typer.Option(150, "--jobs", min=0, help="Jobs for today."),
    history_days: int = typer.Option(90, "--history-days", min=0, help="Days of completed history."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the demo database first and build it anew."),
    clock: bool = typer.Option(
        True, "--clock/--no-clock", help="Let today's jobs so far have happened (completed, on site) by now."
    ),
    start_time: str = typer.Option(
        "08:30",
        "--start-time",
        help="Local time of day the demo's clock starts at (HH:MM), or 'now' for the real clock.",
    ),
    console: bool = typer.Option(
        True,
        "--console/--no-console",
        help="Then open the console with the field simulator running (only at a terminal, never in CI).",
    ),
) -> None:
    """Build the demo company (a separate demo.sqlite unless --db is given) and print what it holds."""
    sim_start = demo_start(start_time)
    from dispatch_tui.cli.progress import progress_bar

    with progress_bar("building the demo company", total=7, console=out) as bar:

        def step(stage: str, done: int, total: int) -> None:
            if stage == "history":
                bar.describe(f"history {done}/{total} days")
            else:
                bar.describe(stage, done)

        result = build_demo_database(
            STATE.db_url,
            fresh=fresh,
            seed=seed,
            technicians=technicians,
            customers=customers,
            jobs_today=jobs,
            history_days=history_days,
            now=sim_start if clock else None,
            progress=step,
        )
    print_summary(result)
    _open_console(result.url, console, sim_start)


def demo_start(start_time: str, tz: str = DEMO_TIMEZONE) -> datetime:
    """Today at `start_time` in the demo's zone, so a newcomer sees a working day whatever the hour."""
    if start_time == "now":
        return datetime.now(UTC)
    try:
        hour, minute = (int(part) for part in start_time.split(":"))
        at = time(hour, minute)
    except ValueError:
        raise typer.BadParameter(f"'{start_time}' is not HH:MM or 'now'", param_hint="--start-time") from None
    zone = ZoneInfo(tz)
    return datetime.combine(datetime.now(zone).date(), at, zone).astimezone(UTC)


def _open_console(url: str, wanted: bool, start: datetime) -> None:
    """The console's part of the demo (kept in dispatch_tui/cli/commands/console.py)."""
    from dispatch_tui.cli.commands.console import demo_console_wanted, open_demo_console

    if demo_console_wanted(wanted):
        open_demo_console(url, start=start)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
