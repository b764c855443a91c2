"""`dispatch messages list|send`: the threads on jobs and technicians, between office and field."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from data.models.messages import MessageAudience
from data.services.messages import read_thread, send_message, unread_counts
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json

messages_app = typer.Typer(help="Messages on jobs and with technicians: list, send.", no_args_is_help=True)

JOB_HELP = "The job's thread, e.g. J000123."
TECH_HELP = "The technician's own thread, e.g. T1."


@messages_app.command("send")
@handles_errors
def send_command(
    text: str = typer.Argument(..., help="The message."),
    job: str | None = typer.Option(None, "--job", help=JOB_HELP),
    tech: str | None = typer.Option(None, "--tech", help=TECH_HELP),
    customer: bool = typer.Option(
        False, "--customer", help="Customer-facing (connectors may forward it); default: internal."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the message as JSON."),
) -> None:
    """Write on a job's or a technician's thread (dispatchers, supervisors, admins)."""
    audience = MessageAudience.CUSTOMER if customer else MessageAudience.INTERNAL
    sent = send_message(db(), actor(), job_ref=job, technician=tech, body=text, audience=audience)
    if as_json:
        print_json(asdict(sent))
        return
    out.print(f"message {sent.id} sent on {sent.job_ref or sent.technician_code} ({sent.audience})", highlight=False)


@messages_app.command("list")
@handles_errors
def list_command(
    job: str | None = typer.Option(None, "--job", help=JOB_HELP),
    tech: str | None = typer.Option(None, "--tech", help=TECH_HELP),
    customer: bool | None = typer.Option(None, "--customer/--internal", help="Only one audience."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """A thread, oldest first (and marked read); with neither --job nor --tech, the unread count per thread."""
    database, me = db(), actor()
    if job is None and tech is None:
        counts = unread_counts(database, me)
        if as_json:
            print_json({"unread": counts})
            return
        table = Table("thread", "unread", title="unread messages")
        for thread, n in sorted(counts.items()):
            table.add_row(thread, str(n))
        out.print(table)
        return
    audience = None if customer is None else (MessageAudience.CUSTOMER if customer else MessageAudience.INTERNAL)
    views = read_thread(database, me, job_ref=job, technician=tech, audience=audience)
    if as_json:
        print_json([asdict(v) for v in views])
        return
    table = Table("at", "from", "audience", "message", title=f"messages on {job or tech}")
    for v in views:
        table.add_row(f"{v.created_at:%Y-%m-%d %H:%M}", v.author, v.audience, v.body)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(messages_app, name="messages")
