"""`dispatch help [TOPIC]`: the product's own help in the terminal, from the text the console's `?` shows."""

from __future__ import annotations

import typer

from data.errors import DispatchError, InvalidInput
from dispatch_tui.cli.context import db, handles_errors, out
from dispatch_tui.help_topics import DOCS, TOPICS, VIEW_HELP, first_steps, topic_names, view_text


@handles_errors
def help_command(
    topic: str | None = typer.Argument(None, help="A topic (dispatch help lists them), e.g. start, board, roles."),
) -> None:
    """Help on a topic: first steps, each view's columns and glyphs, roles, backups."""
    if topic is None:
        out.print("Topics: " + ", ".join(topic_names()), highlight=False)
        out.print("e.g. dispatch help start · dispatch help board · dispatch COMMAND --help", highlight=False)
        return
    name = topic.strip().lower()
    if name in VIEW_HELP:
        out.print(view_text(name), markup=False, highlight=False)
        return
    if name not in TOPICS:
        raise InvalidInput(f"no such topic (topics: {', '.join(topic_names())})", record="help", field="TOPIC")
    t = TOPICS[name]
    out.print(t.title, style="bold", markup=False, highlight=False)
    out.print(t.text, markup=False, highlight=False)
    if name == "start":
        _progress()
    out.print(f"More: {DOCS}{t.doc}", markup=False, highlight=False)


def _progress() -> None:
    from data.queries.first_run import company_progress

    try:
        progress = company_progress(db())
    except DispatchError:
        return  # no database yet: the steps above start with creating it (dispatch init)
    out.print("\nThis database:", style="bold", highlight=False)
    for step in first_steps(progress):
        mark = "done" if step.done else "to do"
        out.print(f"  [{mark:>5}] {step.title}" + ("" if step.done else f": {step.how}"), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("help")(help_command)
