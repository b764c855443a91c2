"""The `dispatch` command line: a thin Typer adapter over data services."""

import typer

app = typer.Typer(no_args_is_help=False, help="Dispatch: field service dispatch from the terminal.")


def run() -> None:
    app()
