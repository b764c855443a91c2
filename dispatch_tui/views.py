"""The console's views, declared once: number key, title tab, `:` words and the screen that draws it.

The app's view bindings (`keymap.APP_KEYS`), the title bar's tabs and the `:` command line's view
words are all generated from `VIEWS`; adding a view is one line here. Screens are named by module
and class so that this table (and the command line that reads it) imports no screen.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class View:
    name: str
    """The view's id: the app's mode name and the argument of `view(...)`."""
    key: str
    label: str
    """Its tab in the title bar (short: every tab must fit on one line)."""
    title: str
    """Its name in the help and the command palette."""
    words: tuple[str, ...]
    """What `:` accepts for it, listed in the help."""
    screen: str
    """"module:Class" of the screen; the class takes the console context."""
    shortcuts: tuple[str, ...] = ()
    """One-letter `:` words, accepted but not listed."""

    def screen_class(self) -> type[Any]:
        module, _, cls = self.screen.partition(":")
        found: type[Any] = getattr(importlib.import_module(module), cls)
        return found


VIEWS: tuple[View, ...] = (
    View(
        "technicians",
        "1",
        "Techs",
        "Techs",
        ("techs", "technicians"),
        "dispatch_tui.screens.technicians:TechniciansScreen",
        ("t",),
    ),
    View("jobs", "2", "Jobs", "Jobs", ("jobs",), "dispatch_tui.screens.jobs:JobsScreen", ("j",)),
    View("board", "3", "Board", "Board", ("board",), "dispatch_tui.screens.board:BoardScreen", ("b",)),
    View("map", "4", "Map", "Map", ("map",), "dispatch_tui.screens.map:MapScreen"),
    View("calendar", "5", "Cal", "Calendar", ("cal", "calendar"), "dispatch_tui.screens.calendar:CalendarScreen"),
    View("deliveries", "6", "Deliv", "Deliveries", ("deliveries",), "dispatch_tui.screens.deliveries:DeliveriesScreen"),
)

WORDS: dict[str, str] = {word: v.name for v in VIEWS for word in (*v.words, *v.shortcuts)}
"""`:` word -> view name."""
LISTED_WORDS: tuple[str, ...] = tuple(word for v in VIEWS for word in v.words)
