"""What every view screen shares: the job and technician under its own cursor, and how it stays live.

Each view screen answers for itself, from what it shows; the app asks only the screen on view
(`app.screen`), so a hidden screen's cursor never decides what a key acts on. A screen with no job
under its cursor answers None and the job keys are not offered there.

`LiveScreen` owns the refresh loop of the live views: feed batches only mark what is stale; the
screen on view reads and applies it (one read at a time, coalescing what came meanwhile), a hidden
one reads and draws nothing until it is looked at again, then catches up once. It also owns the
filter box of the views whose table can be filtered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from data.queries.search import SearchHit
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived, Notice, OpenJob, ViewRefreshed
from dispatch_tui.widgets.keyed_table import KeyedTable
from dispatch_tui.widgets.title_bar import TitleBar


@dataclass(frozen=True)
class JobTarget:
    """A job as a screen shows it: its ref and the version drawn (a stale version is refused by the service)."""

    ref: str
    version: int | None = None


class TargetScreen(Screen[None]):
    """A view whose cursor can rest on a job or a technician; both default to none.

    Every view offers the global search on ctrl+f; views with nothing of their own on `/` (no filter,
    no find) put it there too."""

    BINDINGS = [Binding("ctrl+f", "search", "Search", id="search")]
    ctx: ConsoleContext

    def job_target(self) -> JobTarget | None:
        return None

    def technician_target(self) -> str | None:
        return None

    def action_search(self) -> None:
        from dispatch_tui.screens.search import SearchScreen

        ctx = self.ctx
        self.app.push_screen(SearchScreen(ctx.db, ctx.branch.id, ctx.branch.code), self._open_hit)

    def _open_hit(self, hit: SearchHit | None) -> None:
        """A job opens its detail; a technician is shown in the technicians view."""
        if hit is None:
            return
        if hit.kind == "job":
            self.app.post_message(OpenJob(hit.key))
            return
        self.app.call_later(self.app.run_action, "view('technicians')")
        self.app.call_later(self._focus_technician, hit.key)

    def _focus_technician(self, code: str) -> None:
        focus = getattr(self.app.screen, "focus_technician", None)
        if callable(focus):
            focus(code)

    def on_title_bar_tab_clicked(self, event: TitleBar.TabClicked) -> None:
        self.app.call_later(self.app.run_action, f"view('{event.view}')")

    ROWS_ARE = "rows"
    """What this view's table rows are, for what the status line says about them ("jobs", "technicians")."""

    def on_keyed_table_cursor_displaced(self, event: KeyedTable.CursorDisplaced) -> None:
        """The row under the cursor left: say so, and where the cursor is now, so no key lands unseen on another."""
        if not event.removed:
            return  # the user's own filter hid it: the cursor visibly moved with what they typed
        where = f"the cursor is on {event.key}, the next row" if event.key else f"no {self.ROWS_ARE} left here"
        self.app.post_message(Notice(f"{event.gone} left this view; {where}", "warning"))

    def on_keyed_table_sort_changed(self, event: KeyedTable.SortChanged) -> None:
        if event.column is None:
            self.app.post_message(Notice(f"{self.ROWS_ARE} back in this view's own order"))
            return
        way = "reversed; click again for this view's own order" if event.reverse else "click again to reverse"
        self.app.post_message(Notice(f"{self.ROWS_ARE} sorted by {event.column.label} ({way})"))


def job_target(screen: Screen[object]) -> JobTarget | None:
    """The job under `screen`'s cursor, or None (dialogs and screens without jobs have none)."""
    return screen.job_target() if isinstance(screen, TargetScreen) else None


def technician_target(screen: Screen[object]) -> str | None:
    """The technician code under `screen`'s cursor, or None."""
    return screen.technician_target() if isinstance(screen, TargetScreen) else None


CATCH_UP_LIMIT = 400
"""More stale rows than this (a view hidden through a busy spell) are read again whole, in one query."""


class LiveScreen(TargetScreen):
    """A view kept live from the feed, read only while it is on view (or behind a dialog over it)."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self._stale: set[Hashable] = set()
        self._urgent: set[Hashable] = set()
        self._full = True
        self._busy = False
        self.loaded = asyncio.Event()
        """Set after the first whole read is on screen."""

    # What a view says.

    def stale_keys(self, message: EventsArrived) -> Iterable[Hashable]:
        """What these events make stale on this view (ids of its rows); nothing by default."""
        return ()

    async def read(self, keys: set[Hashable] | None) -> None:
        """Read and apply these rows (None: everything). Runs on the screen's own worker."""
        raise NotImplementedError

    # The loop.

    def refresh_every(self, seconds: float) -> None:
        """Read everything again this often (what the clock alone changes); hidden, only marked."""
        self.set_interval(seconds, self.reload)

    def reload(self) -> None:
        """Read everything again (the app calls it when the viewed day or branch changes)."""
        self._full = True
        self._kick()

    def mark_stale(self, keys: Iterable[Hashable], *, urgent: bool = False) -> None:
        """Rows to read again; `urgent` ones are read even while the view is hidden (an alert waits on them)."""
        keys = set(keys)
        if keys:
            (self._urgent if urgent else self._stale).update(keys)
            self._kick()

    def on_events_arrived(self, message: EventsArrived) -> None:
        self.mark_stale(self.stale_keys(message))

    def on_mount(self) -> None:
        self._kick()

    def on_screen_resume(self) -> None:
        self._kick()  # looked at again: catch up once with what went stale while hidden

    def _on_view(self) -> bool:
        return not self.loaded.is_set() or self.is_current

    def _kick(self) -> None:
        if not self._busy and self.is_attached and (self._urgent or (self._on_view() and (self._full or self._stale))):
            self._busy = True
            self.run_worker(self._drain(), group="refresh")

    async def _drain(self) -> None:
        """Read what is stale, one read at a time, until nothing is (or the view is hidden)."""
        try:
            while True:
                if self._on_view() and (self._full or self._stale):
                    keys = self._stale | self._urgent
                    full = self._full or len(keys) > CATCH_UP_LIMIT
                    self._stale.clear()
                    self._urgent.clear()
                    self._full = False
                elif self._urgent:
                    keys, full = set(self._urgent), False
                    self._urgent.clear()
                else:
                    return
                await self.read(None if full else keys)
                if not self.is_attached:
                    return  # the console is closing
                self.app.post_message(ViewRefreshed(full))
                if full:
                    self.loaded.set()
        finally:
            self._busy = False


class FilterBox(Input):
    """The one-line filter over a view's table (`/`); Enter keeps it, esc clears it."""

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder=placeholder, id="filter")
        self.display = False


class FilteredScreen(LiveScreen):
    """A live view whose table `/` filters (the text in any column)."""

    def filtered_table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def action_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.value = ""
        box.display = False
        self.filtered_table().set_filter("")
        self.filtered_table().focus()

    def apply_filter(self, text: str) -> None:
        box = self.query_one(FilterBox)
        box.value = text
        box.display = bool(text)
        self.filtered_table().set_filter(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBox):
            self.filtered_table().set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterBox):
            event.input.display = bool(event.value)
            self.filtered_table().focus()
