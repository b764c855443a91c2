"""The top line: who is at the keyboard, their role, the branch and day viewed, and the current view."""

from __future__ import annotations

from textual.widgets import Static


class TitleBar(Static):
    """Shows the app's `title_text` (set by the app; this widget only displays it)."""

    DEFAULT_CSS = """
    TitleBar { dock: top; height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "title_text", self._show)

    def _show(self, text: str) -> None:
        self.update(text)
