"""What every command shares: the database, who is acting, output as rich tables or JSON, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from data.errors import DispatchError
from data.jsonable import jsonable

if TYPE_CHECKING:  # the models and the engine load when a command first opens the database, not at start-up
    from data.actor import Actor
    from data.db import Database

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_CONFLICT = 0, 1, 2, 3


class ShellConsole(Console):
    """Rich output for people; for a pipe, tables become tab-separated rows and no line is cut or wrapped.

    Like `gh`, a table read by another program drops its header and borders (the title goes to stderr) and prints each
    row in full, cells separated by tabs, so `cut -f1`, `sort` and `awk -F'\\t'` work whatever the terminal's width.
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if self.is_terminal:
            super().print(*objects, **kwargs)
            return
        kwargs.setdefault("soft_wrap", True)
        for item in objects:
            if isinstance(item, Table):
                if item.title:  # what the rows are stays visible, on stderr, out of the data's way
                    sys.stderr.write(_plain(item.title) + "\n")
                self.file.write("".join(tsv_row(row) for row in table_rows(item)))
            else:
                super().print(item, **kwargs)


def table_rows(table: Table) -> list[list[str]]:
    """A table's body as plain text cells (markup removed), row by row."""
    columns = [[_plain(cell) for cell in column.cells] for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def tsv_row(cells: list[str]) -> str:
    return "\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells) + "\n"


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


out = ShellConsole()
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
"""Messages for people on stderr: never wrapped at the terminal's width (a path or a row stays on its line, so
`grep` and tests find it whatever the width), and text taken as text (`[J099]` in a message is kept)."""


def labelled(label: str, message: str, style: str = "bold red") -> Text:
    """`error: message` with the label styled and the message as plain text (no markup read from data)."""
    return Text.assemble((f"{label}:", style), " ", message)


P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    db_url: str | None = None
    as_user: str | None = None
    _db: Database | None = None

    def database(self, *, create: bool = False) -> Database:
        """The database of --db (or the environment's, or the default); only `init` and `demo` create one."""
        if self._db is None:
            from data.db import open_database

            self._db = open_database(self.db_url, create=create)
        return self._db

    def actor(self, source: str = "cli") -> Actor:
        from data.services.users import resolve_actor

        return resolve_actor(self.database(), self.as_user, source)


STATE = CliState()


def db(*, create: bool = False) -> Database:
    return STATE.database(create=create)


def actor(source: str = "cli") -> Actor:
    return STATE.actor(source)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(labelled("error", message))
    return typer.Exit(code)


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into a one-line message and the documented exit code."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DispatchError as e:
            raise fail(e.message, e.exit_code) from None

    return wrapper


def money_hidden_because() -> str | None:
    """Why the person at the keyboard may not see money (None when they may): see data.money."""
    from data.errors import PermissionDenied
    from data.money import money_refusal

    try:
        return money_refusal(actor())
    except PermissionDenied as e:  # someone Dispatch does not know sees no money either
        return e.message


def shown_money(value: Any) -> Any:
    """`value` as the person at the keyboard may see it: money fields hidden without `see_money`."""
    from data.money import has_money, without_money

    if not has_money(jsonable(value)):
        return value
    reason = money_hidden_because()
    return value if reason is None else without_money(value, reason)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(shown_money(value)), indent=2, ensure_ascii=False) + "\n")


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner for slow work, shown only to people (never in --json output or CI logs)."""
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        yield
