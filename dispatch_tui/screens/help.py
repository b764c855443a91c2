"""`?`: every key of the console and of the view underneath, with what it does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from dispatch_tui.keymap import APP_KEYS, WRITE_ACTIONS
from dispatch_tui.views import LISTED_WORDS
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

    def __init__(self, view: Screen[object] | None, read_only: bool) -> None:
        super().__init__()
        self.view = view
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        table = Table(title="Keys", expand=True, show_edge=False)
        table.add_column("Key", no_wrap=True, style="bold")
        table.add_column("Does")
        table.add_column("Where", style="dim")
        for spec in APP_KEYS:
            name = spec.action.split("(")[0]
            does = spec.description + (" (read-only: refused)" if self.read_only and name in WRITE_ACTIONS else "")
            table.add_row(_key_label(spec.key), does, "everywhere")
        if self.view is not None:
            where = getattr(self.view, "TITLE", None) or "this view"  # its name on screen, never a class name
            for b in self.view.BINDINGS:
                if isinstance(b, Binding):
                    table.add_row(_key_label(b.key), b.description or b.action.replace("_", " "), where)
        table.add_row("ctrl+p", "Command palette (every action)", "everywhere")
        commands = Text("\nCommand line (:)\n", style="bold")
        commands.append("  " + "  ".join(f":{v}" for v in sorted(LISTED_WORDS)) + "\n")
        commands.append("  " + "  ".join(f":{c}" for c in sorted(set(COMMANDS) - {"q"})) + "\n")
        commands.append("  e.g. :job J000123   :tech T012   :assign J000123 T012 10:30   :day 2026-11-26\n")
        with VerticalScroll():
            yield Static(table)
            yield Static(commands, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
