"""`dispatch status`: the operator's view in a terminal, the same figures the metrics endpoints give."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from data.config import resolve_database_url
from data.db import Database
from data.errors import StorageUnavailable
from data.migrate import current_revision, head_revision
from data.services.solves import recent_solves
from dispatch_tui.cli.context import EXIT_ERROR, STATE, db, handles_errors, out, print_json
from integrations.observability import backlog, database_ready, solves_by_branch


@handles_errors
def status_command(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Database reachable and migrated, deliveries by state, the oldest pending one and the dead letters.

    Exits 1 when the database does not answer, so a health check can run it.
    """
    from dispatch_tui.cli.main import dispatch_version

    database: Database | None = None
    try:
        database = db()
        problem = database_ready(database)
    except StorageUnavailable as e:  # a health check gets its report, saying why, not just an error line
        problem = e.message
    report: dict[str, object] = {
        "version": dispatch_version(),
        "database": make_url(resolve_database_url(STATE.db_url)).render_as_string(hide_password=True),
        "ready": problem is None,
        "problem": problem,
    }
    if database is not None and problem is None:
        current = backlog(database)
        report |= {
            "schema": current_revision(database),
            "schema_head": head_revision(database),
            "deliveries": current.by_status,
            "oldest_pending_seconds": round(current.oldest_pending_seconds, 1),
            "dead_letters": current.dead,
            "solves_24h": {
                b.branch: {
                    "count": b.count,
                    "by_status": b.by_status,
                    "last_seconds": round(b.last_seconds, 2),
                    "max_seconds": round(b.max_seconds, 2),
                    "cut_short": b.cut_short,
                }
                for b in solves_by_branch(recent_solves(database))
            },
        }
    if as_json:
        print_json(report)
    else:
        table = Table("what", "value", title="Dispatch status", header_style="bold")
        for key, value in report.items():
            if key == "solves_24h" and isinstance(value, dict):
                value = (
                    "; ".join(
                        f"{b} {s['count']} (last {s['last_seconds']} s, max {s['max_seconds']} s, "
                        f"{s['cut_short']} cut short)"
                        for b, s in value.items()
                    )
                    or "none"
                )
            elif isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            table.add_row(key, "-" if value is None else str(value))
        out.print(table)
    if problem is not None:
        raise typer.Exit(EXIT_ERROR)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
