"""Unexpected errors in a command: one line for the person, the traceback in the private log file, exit 1.

A traceback printed to a terminal shows the exception's message and, with rich, local variables: SQL
parameters, CSV rows, tokens. Nothing of it is shown; `integrations.logs.record_crash` keeps it (without
locals) in the 0600 log file for whoever debugs it.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from data.errors import DispatchError
from dispatch_tui.cli.context import EXIT_ERROR, err, fail
from integrations.logs import crash_message, record_crash

PASSED_THROUGH = (TyperException, Exit, Abort, EOFError, BrokenPipeError)
"""What Typer itself turns into a message and an exit code: bad usage, `typer.Exit`, ctrl+d, a closed pipe."""


def report_crash(error: BaseException) -> typer.Exit:
    """Log `error` privately, print the one line, and give the exit to raise."""
    path = record_crash(error)
    err.print(crash_message(path), markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_ERROR)


class CrashGuardGroup(TyperGroup):
    """The root command group: every sub-command runs inside it, so every one is guarded."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PASSED_THROUGH:
            raise
        except DispatchError as e:  # a refusal from a command that forgot @handles_errors: still its own message
            raise fail(e.message, e.exit_code) from None
        except Exception as e:
            raise report_crash(e) from None
