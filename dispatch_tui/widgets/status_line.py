"""The bottom status line: the last action's outcome (or refusal) and the data's freshness and feed state."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal
from textual.widgets import Static

MORE = "… (:messages)"
LEVEL_STYLE = {"info": "", "ok": "green", "error": "bold red", "warning": "yellow"}


class StatusLine(Horizontal):
    """Shows the app's `status_text`/`status_level` on the left and `freshness_text` on the right."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; overflow: hidden hidden; }
    StatusLine > #status-message { width: 1fr; height: 1; padding: 0 1; overflow: hidden hidden; }
    StatusLine > #status-freshness { width: auto; max-width: 45; height: 1; padding: 0 1; color: $text-muted; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="status-message", markup=False)
        yield Static("", id="status-freshness", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "status_text", self._message)
        self.watch(self.app, "status_level", self._message)
        self.watch(self.app, "freshness_text", self._freshness)

    def message_room(self) -> int:
        """Characters the message part can show (the whole app width before the first layout)."""
        width = self.query_one("#status-message", Static).content_size.width
        return width if width > 0 else self.app.size.width

    def _message(self, _value: str) -> None:
        text = getattr(self.app, "status_text", "")
        level = getattr(self.app, "status_level", "info")
        room = self.message_room()
        if len(text) > room:  # the whole text is in a notification and in :messages
            text = text[: max(0, room - len(MORE))] + MORE
        self.query_one("#status-message", Static).update(Text(text, style=LEVEL_STYLE.get(level, "")))

    def _freshness(self, text: str) -> None:
        self.query_one("#status-freshness", Static).update(text)
