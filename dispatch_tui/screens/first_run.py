"""The first-run guide: shown when the console opens on a company with nothing to dispatch yet."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from data.queries.first_run import Progress
from dispatch_tui.help_topics import first_steps


class FirstRunScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    FirstRunScreen { align: center middle; }
    FirstRunScreen > VerticalScroll { width: 90%; height: auto; max-height: 90%; border: round $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def steps_text(self) -> Text:
        text = Text("Welcome: first steps for a new company\n\n", style="bold")
        for i, step in enumerate(first_steps(self.progress), 1):
            text.append(f"{i}. [{'x' if step.done else ' '}] {step.title}", style="dim" if step.done else "bold")
            text.append("" if step.done else f"\n     {step.how}")
            text.append("\n")
        text.append("\nIn a terminal: dispatch help start. Here: ? on any view explains it. esc closes this.\n")
        return text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.steps_text(), markup=False, id="first-steps")

    def action_close(self) -> None:
        self.dismiss(None)
