"""One progress bar for every slow command: on stderr, only at a terminal, gone when the work ends.

Stdout stays the command's data (a table, `--json`, an export) whatever happens to the bar; in a pipe, CI or a
test the bar is switched off entirely. The data layer reports progress through plain callbacks and knows no rich.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from dispatch_tui.cli.context import err


class Bar:
    """What a command moves while its work runs: `advance_to(done, total)` and an optional new description."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance_to(self, done: int, total: int | None = None) -> None:
        if total is None:
            self._progress.update(self._task, completed=done)
        else:
            self._progress.update(self._task, completed=done, total=total)

    def describe(self, description: str, done: int | None = None) -> None:
        self._progress.update(self._task, description=description, completed=done)


@contextmanager
def progress_bar(description: str, total: int | None = None, *, console: Console = err) -> Iterator[Bar]:
    """A transient bar on `console` (stderr by default), disabled unless that console is a terminal."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield Bar(progress, progress.add_task(description, total=total))
