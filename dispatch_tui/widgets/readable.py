"""Status colours that still read without colour: with NO_COLOR every colour turns grey, so what a
colour said (red: late, absent, P1; yellow: at risk) is said again by reverse video, bold and underline.

One rule for every table cell (`KeyedTable` applies it); the canvases do the same in their `.tcss`
under `:nocolor` (and a light theme under `:light`).
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from rich.text import Text

ALARM = ("red",)
WARNING = ("yellow", "magenta", "orange")


def _named(style: Style) -> str:
    names = [c.name for c in (style.color, style.bgcolor) if c is not None]
    return " ".join(names)


@lru_cache(maxsize=256)
def without_colour(style: Style) -> Style:
    """The same emphasis in monochrome: alarms reversed, warnings underlined, the rest plain (dim stays)."""
    named = _named(style)
    if any(word in named for word in ALARM):
        return Style(bold=True, reverse=True)
    if any(word in named for word in WARNING):
        return Style(bold=True, underline=True)
    return Style(bold=style.bold, dim=style.dim, italic=style.italic)


def readable(cell: Text) -> Text:
    """`cell` for a terminal without colour."""
    style = cell.style if isinstance(cell.style, Style) else Style.parse(cell.style) if cell.style else Style()
    return Text(cell.plain, style=without_colour(style))
