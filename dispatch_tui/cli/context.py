"""What every command shares: the database, who is acting, output as rich tables or JSON, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from data.actor import Actor
from data.db import Database, open_database
from data.errors import DispatchError
from data.jsonable import jsonable
from data.services.users import resolve_actor

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_CONFLICT = 0, 1, 2, 3

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    db_url: str | None = None
    as_user: str | None = None
    _db: Database | None = None

    def database(self) -> Database:
        if self._db is None:
            self._db = open_database(self.db_url)
        return self._db

    def actor(self, source: str = "cli") -> Actor:
        return resolve_actor(self.database(), self.as_user, source)


STATE = CliState()


def db() -> Database:
    return STATE.database()


def actor(source: str = "cli") -> Actor:
    return STATE.actor(source)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
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


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n")


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner for slow work, shown only to people (never in --json output or CI logs)."""
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        yield
