"""A tiny raster for terminal maps: 2x4 braille dots per cell (or ASCII), lines, and text laid over them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

BRAILLE_BASE = 0x2800
# Bit of each dot in a braille cell, indexed [y][x] (Unicode numbers dots 1-8 in this odd order).
DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
TOP_HALF = 0x01 | 0x08 | 0x02 | 0x10
BOTTOM_HALF = 0x04 | 0x20 | 0x40 | 0x80


@dataclass(frozen=True)
class Run:
    """A stretch of one row drawn in one style (None: the widget's base style)."""

    text: str
    style: str | None


def ascii_glyph(bits: int) -> str:
    """An ASCII stand-in for a braille cell: which halves of the cell hold dots."""
    top, bottom = bool(bits & TOP_HALF), bool(bits & BOTTOM_HALF)
    if top and bottom:
        return ":"
    if top:
        return "'"
    if bottom:
        return "."
    return " "


class BrailleCanvas:
    """`width` x `height` terminal cells holding (2*width) x (4*height) dots.

    Each dot is drawn in a named style with a rank; a cell shows the style of its highest-ranked dot, so a
    route drawn over a coastline keeps the route's colour. Text overlays replace cells entirely.
    """

    def __init__(self, width: int, height: int, *, ascii_only: bool = False) -> None:
        self.width = max(0, width)
        self.height = max(0, height)
        self.ascii_only = ascii_only
        self._bits = [[0] * self.width for _ in range(self.height)]
        self._style: list[list[str | None]] = [[None] * self.width for _ in range(self.height)]
        self._rank = [[-1] * self.width for _ in range(self.height)]
        self._text: dict[tuple[int, int], tuple[str, str | None]] = {}

    @property
    def dot_width(self) -> int:
        return self.width * 2

    @property
    def dot_height(self) -> int:
        return self.height * 4

    def set(self, x: int, y: int, style: str | None = None, rank: int = 0) -> None:
        """Light the dot at (x, y); dots off the canvas are ignored (lines may leave it)."""
        if not (0 <= x < self.dot_width and 0 <= y < self.dot_height):
            return
        col, row = x >> 1, y >> 2
        self._bits[row][col] |= DOT_BITS[y & 3][x & 1]
        if rank >= self._rank[row][col]:
            self._rank[row][col] = rank
            self._style[row][col] = style

    def is_set(self, x: int, y: int) -> bool:
        if not (0 <= x < self.dot_width and 0 <= y < self.dot_height):
            return False
        return bool(self._bits[y >> 2][x >> 1] & DOT_BITS[y & 3][x & 1])

    def line(self, x0: int, y0: int, x1: int, y1: int, style: str | None = None, rank: int = 0) -> None:
        """Bresenham's line between two dots, inclusive of both ends."""
        # Clip absurdly long lines (a point far off-screen) to a bounded number of steps.
        limit = 4 * (self.dot_width + self.dot_height) + 8
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        if dx > limit or -dy > limit:
            return
        sx = 1 if x0 < x1 else -1
        sy = 1 if y0 < y1 else -1
        err = dx + dy
        while True:
            self.set(x0, y0, style, rank)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def polyline(self, points: list[tuple[int, int]], style: str | None = None, rank: int = 0) -> None:
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            self.line(x0, y0, x1, y1, style, rank)

    def text(self, col: int, row: int, text: str, style: str | None = None) -> None:
        """Write text over the dots starting at a cell; characters off the canvas are dropped."""
        if not 0 <= row < self.height:
            return
        for i, ch in enumerate(text):
            c = col + i
            if 0 <= c < self.width:
                self._text[(c, row)] = (ch, style)

    def cell(self, col: int, row: int) -> tuple[str, str | None]:
        """The character and style shown in one cell."""
        if (col, row) in self._text:
            return self._text[(col, row)]
        bits = self._bits[row][col]
        if not bits:
            return " ", None
        glyph = ascii_glyph(bits) if self.ascii_only else chr(BRAILLE_BASE + bits)
        return glyph, self._style[row][col]

    def row_runs(self, row: int) -> list[Run]:
        """One row as runs of equal style (what a line-API widget turns into segments)."""
        runs: list[Run] = []
        chars: list[str] = []
        current: str | None = None
        for col in range(self.width):
            ch, style = self.cell(col, row)
            if chars and style != current:
                runs.append(Run("".join(chars), current))
                chars = []
            current = style
            chars.append(ch)
        if chars:
            runs.append(Run("".join(chars), current))
        return runs

    def rows(self) -> Iterator[list[Run]]:
        for row in range(self.height):
            yield self.row_runs(row)

    def plain(self) -> list[str]:
        """The canvas as text lines (tests and debugging)."""
        return ["".join(self.cell(c, r)[0] for c in range(self.width)) for r in range(self.height)]
