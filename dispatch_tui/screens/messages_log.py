"""`:messages`: everything the console said this session (status lines and notifications), whole, newest last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dispatch_tui.alerts import Logged

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "information": ""}


class MessagesScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    MessagesScreen { align: center middle; }
    MessagesScreen > Vertical { width: 90%; height: 80%; border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, messages: Sequence[Logged], zone: tzinfo) -> None:
        super().__init__()
        self.messages = list(messages)
        self.zone = zone

    def lines(self) -> list[str]:
        return [m.text for m in self.messages]

    def compose(self) -> ComposeResult:
        body = Text()
        for m in self.messages:
            body.append(f"{m.at.astimezone(self.zone):%H:%M:%S} ", style="dim")
            body.append(m.text + "\n", style=SEVERITY_STYLE.get(m.severity, ""))
        if not self.messages:
            body.append("nothing said yet", style="dim")
        with Vertical():
            yield Label(Text(f"Messages ({len(self.messages)}), newest last · Esc closes", style="bold"))
            with VerticalScroll():
                yield Static(body, markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
