"""The bottom line of keys: one widget drawing the screen's offered bindings as one line of text.

Textual's Footer builds a widget per key (about 60 a switch between views); this draws the same keys
in one `render`, redrawn only when the screen's bindings change and only while it is on view. A click
on a key presses it; a key the screen offers but cannot use now is dimmed.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    """The keys the screen on view offers (`Binding.show`), the command palette's at the right."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}
    ALLOW_SELECT = False

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, bool]] = []
        """(first cell, end cell, key, enabled) of each key drawn, for clicks."""
        self._drawn: tuple[int, Text] | None = None
        """The line last drawn and its width: a repaint with the same bindings draws nothing new."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self._drawn = None
            self.refresh()  # drawn at the next paint, which a hidden screen never gets

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn = None

    def _keys(self) -> tuple[list[tuple[str, str, str, bool]], tuple[str, str, str, bool] | None]:
        """(key, how it reads, description, enabled) of the shown bindings, and the palette's."""
        app = self.app
        seen: set[str] = set()
        keys: list[tuple[str, str, str, bool]] = []
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = (binding.key, app.get_key_display(binding), binding.description, enabled)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append((binding.key, app.get_key_display(binding), binding.description, enabled))
        return keys, palette

    def render(self) -> Text:
        width = self.content_size.width
        if self._drawn is not None and self._drawn[0] == width:
            return self._drawn[1]
        line = self._draw(width)
        self._drawn = (width, line)
        return line

    def _draw(self, width: int) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        off_style = self.get_component_rich_style("key-bar--disabled")
        keys, palette = self._keys()
        tail = Text()
        if palette is not None:
            tail.append(f" {palette[1]}", key_style)
            tail.append(f" {palette[2]} ", text_style)
        room = width - tail.cell_len
        line = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for key, shown, description, enabled in keys:
            piece = Text.assemble((f" {shown}", key_style), (f" {description} ", text_style))
            if not enabled:
                piece.stylize(off_style)
            if line.cell_len + piece.cell_len > room:
                break  # whole keys or none: never "Unassi"
            self._spans.append((line.cell_len, line.cell_len + piece.cell_len, key, enabled))
            line.append_text(piece)
        line.append(" " * max(0, room - line.cell_len))
        if palette is not None:
            self._spans.append((line.cell_len, line.cell_len + tail.cell_len, palette[0], palette[3]))
            line.append_text(tail)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
