"""The top line: who is at the keyboard, their role, the branch, day and time viewed, and the view tabs.

A click on a tab posts `TitleBar.TabClicked`; the screen switches view as the tab's number key does.
"""

from __future__ import annotations

import re

from textual import events
from textual.message import Message
from textual.widgets import Static

from dispatch_tui.views import VIEWS

TABS_AFTER = "  "
"""The tabs follow the title's last double space (see the app's title variants)."""
TAB = re.compile(r"\[?(\w)(?: [A-Za-z][^\s\[\]()]*)?(?:\(\d+\))?\]?")
"""One tab: "2 Jobs", "[2 Jobs]", "2", "2 Jobs(3)" (its key, then its label and badge)."""


def fitting(variants: tuple[str, ...], width: int) -> str:
    """The longest variant that fits in `width` cells (the shortest when none does)."""
    for text in variants:
        if len(text) <= width:
            return text
    return variants[-1] if variants else ""


def tab_at(text: str, x: int) -> str | None:
    """The view whose tab is drawn at cell `x` of the title `text`, or None."""
    start = text.rfind(TABS_AFTER)
    if start < 0:
        return None
    start += len(TABS_AFTER)
    views = {v.key: v.name for v in VIEWS}
    for match in TAB.finditer(text, start):
        if match.start() <= x < match.end() and match.group(1) in views:
            return views[match.group(1)]
    return None


class TitleBar(Static):
    """Shows the longest of the app's `title_variants` that fits (set by the app; this widget only displays it)."""

    DEFAULT_CSS = """
    TitleBar { dock: top; height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
    """

    class TabClicked(Message):
        """A view's tab was clicked."""

        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self.shown = ""

    def on_mount(self) -> None:
        self.watch(self.app, "title_variants", self._show)

    def on_resize(self, _event: events.Resize) -> None:
        self._show(getattr(self.app, "title_variants", ()))

    def _show(self, variants: tuple[str, ...]) -> None:
        width = self.content_size.width or self.app.size.width - 2
        self.shown = fitting(variants, width)
        self.update(self.shown)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        view = tab_at(self.shown, offset.x) if offset is not None else None
        if view is not None:
            self.post_message(self.TabClicked(view))
