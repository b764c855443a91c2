"""`?`: the view underneath explained (what it shows, its columns and glyphs), then every key and what it does.

The words come from `dispatch_tui.help_topics` (shared with `dispatch help VIEW`); the keys from the
declared bindings, each marked with why the user's role may not use it.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from dispatch_tui.help_topics import DOCS, VIEW_HELP
from dispatch_tui.keymap import APP_KEYS
from dispatch_tui.views import LISTED_WORDS, VIEWS
from dispatch_tui.widgets.command_line import COMMANDS


def _key_label(key: str) -> str:
    """How a key reads on a keyboard ("?", "/", "^p", "esc"), for each of a binding's keys."""
    names = {"escape": "esc", "enter": "enter", "tab": "tab", "space": "space"}
    return " ".join(names.get(k, format_key(k)) for k in key.split(",") if k)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent; background: $surface;
        padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, view: Screen[object] | None, refused: Callable[[str], str | None] = lambda _: None) -> None:
        super().__init__()
        self.view = view
        self.refused = refused
        """Action name -> why this user's role cannot use it, or None."""

    def view_name(self) -> str | None:
        return next((v.name for v in VIEWS if self.view is not None and type(self.view) is v.screen_class()), None)

    def about_view(self) -> Text:
        name = self.view_name()
        h = VIEW_HELP.get(name or "")
        if h is None:
            return Text("")
        about = Text(f"{name}: ", style="bold")
        about.append(h.intro + "\n")
        if h.columns:
            about.append("\nColumns\n", style="bold")
            for label, meaning in h.columns.items():
                about.append(f"  {label:<10}", style="bold")
                about.append(f" {meaning}\n")
        if h.glyphs:
            about.append("\nGlyphs (Unicode / --ascii)\n", style="bold")
            for glyph, meaning in h.glyphs:
                about.append(f"  {glyph:<10}", style="bold")
                about.append(f" {meaning}\n")
        about.append(f"\nMore: {DOCS}{h.doc} · dispatch help {name} · dispatch help start (first steps)\n", style="dim")
        return about

    def keys_table(self) -> Table:
        """Every key here: the app's, then the view's, each marked when the user's role may not use it."""
        table = Table(title="Keys", expand=True, show_edge=False)
        table.add_column("Key", no_wrap=True, style="bold")
        table.add_column("Does")
        table.add_column("Where", style="dim")
        for spec in APP_KEYS:
            name = spec.action.split("(")[0]
            why = self.refused(name)
            does = spec.description + (f" (not for you: {why})" if why else "")
            table.add_row(_key_label(spec.key), does, "everywhere")
        if self.view is not None:
            where = getattr(self.view, "TITLE", None) or "this view"  # its name on screen, never a class name
            for b in self.view.BINDINGS:
                if isinstance(b, Binding):
                    table.add_row(_key_label(b.key), b.description or b.action.replace("_", " "), where)
        table.add_row("ctrl+p", "Command palette (every action)", "everywhere")
        return table

    def compose(self) -> ComposeResult:
        commands = Text("\nCommand line (:)\n", style="bold")
        commands.append("  " + "  ".join(f":{v}" for v in sorted(LISTED_WORDS)) + "\n")
        commands.append("  " + "  ".join(f":{c}" for c in sorted(set(COMMANDS) - {"q"})) + "\n")
        commands.append("  e.g. :job J000123   :tech T012   :assign J000123 T012 10:30   :day 2026-11-26\n")
        with VerticalScroll():
            yield Static(self.about_view(), markup=False)
            yield Static(self.keys_table())
            yield Static(commands, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
