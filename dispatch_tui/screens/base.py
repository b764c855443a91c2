"""What a screen offers the dispatch keys: the job and the technician drawn under its own cursor.

Each view screen answers for itself, from what it shows; the app asks only the screen on view
(`app.screen`), so a hidden screen's cursor never decides what a key acts on. A screen with no job
under its cursor answers None and the job keys are not offered there.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.screen import Screen

from dispatch_tui.messages import Notice
from dispatch_tui.widgets.keyed_table import KeyedTable


@dataclass(frozen=True)
class JobTarget:
    """A job as a screen shows it: its ref and the version drawn (a stale version is refused by the service)."""

    ref: str
    version: int | None = None


class TargetScreen(Screen[None]):
    """A view whose cursor can rest on a job or a technician; both default to none."""

    def job_target(self) -> JobTarget | None:
        return None

    def technician_target(self) -> str | None:
        return None

    ROWS_ARE = "rows"
    """What this view's table rows are, for what the status line says about them ("jobs", "technicians")."""

    def on_keyed_table_cursor_displaced(self, event: KeyedTable.CursorDisplaced) -> None:
        """The row under the cursor left: say so, and where the cursor is now, so no key lands unseen on another."""
        if not event.removed:
            return  # the user's own filter hid it: the cursor visibly moved with what they typed
        where = f"the cursor is on {event.key}, the next row" if event.key else f"no {self.ROWS_ARE} left here"
        self.app.post_message(Notice(f"{event.gone} left this view; {where}", "warning"))

    def on_keyed_table_sort_changed(self, event: KeyedTable.SortChanged) -> None:
        way = "reversed" if event.reverse else "click again to reverse"
        self.app.post_message(Notice(f"{self.ROWS_ARE} sorted by {event.column.label} ({way})"))


def job_target(screen: Screen[object]) -> JobTarget | None:
    """The job under `screen`'s cursor, or None (dialogs and screens without jobs have none)."""
    return screen.job_target() if isinstance(screen, TargetScreen) else None


def technician_target(screen: Screen[object]) -> str | None:
    """The technician code under `screen`'s cursor, or None."""
    return screen.technician_target() if isinstance(screen, TargetScreen) else None
