"""The top line: who is at the keyboard, their role, the branch, day and time viewed, and the view tabs."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Static


def fitting(variants: tuple[str, ...], width: int) -> str:
    """The longest variant that fits in `width` cells (the shortest when none does)."""
    for text in variants:
        if len(text) <= width:
            return text
    return variants[-1] if variants else ""


class TitleBar(Static):
    """Shows the longest of the app's `title_variants` that fits (set by the app; this widget only displays it)."""

    DEFAULT_CSS = """
    TitleBar { dock: top; height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "title_variants", self._show)

    def on_resize(self, _event: Resize) -> None:
        self._show(getattr(self.app, "title_variants", ()))

    def _show(self, variants: tuple[str, ...]) -> None:
        width = self.content_size.width or self.app.size.width - 2
        self.update(fitting(variants, width))
