"""`dispatch reminders run`: send due appointment reminders and "technician on the way" messages."""

from __future__ import annotations

import time

import typer

from dispatch_tui.cli.context import db, err, handles_errors, out, print_json
from integrations.reminders.runner import RunReport, run_once
from integrations.reminders.settings import load_settings

reminders_app = typer.Typer(help="Customer reminders by email (SMTP) and SMS (signed webhook); never sent twice.")


def _print(report: RunReport, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "sent": [list(s) for s in report.sent],
                "failed": [list(f) for f in report.failed],
                "unknown": [list(u) for u in report.unknown],
                "skipped": report.skipped,
            }
        )
        return
    for ref, kind, channel in report.sent:
        out.print(f"sent {kind} {channel} for {ref}", highlight=False)
    for ref, kind, channel, why in report.failed:
        err.print(f"failed {kind} {channel} for {ref}: {why}", highlight=False, markup=False)
    for ref, kind, channel in report.unknown:
        err.print(f"unknown outcome {kind} {channel} for {ref}: check the mail log, it is not re-sent", highlight=False)


@reminders_app.command("run")
@handles_errors
def run_command(
    once: bool = typer.Option(False, "--once", help="One pass, then exit (for cron)."),
    interval: float = typer.Option(30.0, "--interval", min=1.0, max=3600.0, help="Seconds between passes."),
    config: str | None = typer.Option(
        None, "--config", help="reminders.toml (default: $DISPATCH_REMINDERS_CONFIG, then the user config dir)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print each pass as JSON."),
) -> None:
    """Send what is due; without --once, keep going every --interval seconds until Ctrl-C."""
    settings = load_settings(config)
    if not settings.channels():
        err.print("no SMTP server or SMS webhook configured: nothing can be sent", highlight=False)
        raise typer.Exit(2)
    database = db()
    while True:
        _print(run_once(database, settings), as_json)
        if once:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def register(app: typer.Typer) -> None:
    app.add_typer(reminders_app, name="reminders")
