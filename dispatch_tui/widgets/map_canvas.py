"""The service-area map: the branch's base layer, technicians, jobs and a route, drawn in braille (or ASCII) by the
line API, with labels that keep out of each other's way and a legend for every glyph."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from data.maps.layer import DETAIL_LEVELS, LINE_KINDS, STREET_NAMES_KM_PER_CELL, BaseLayer, level_for
from data.queries.board import Bounds, MapState, MapTechnician
from dispatch_tui.widgets.braille import BrailleCanvas, Run

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
ZOOM_STEP = 1.5
TECH_STATUSES = ("available", "en_route", "on_site", "break", "off", "absent")
STATUS_WORDS = {
    "available": "free",
    "en_route": "driving",
    "on_site": "on site",
    "break": "break",
    "off": "off",
    "absent": "absent",
}
LINE_RANK = {kind: i for i, kind in enumerate(LINE_KINDS)}
AREA_RANK, ROUTE_LEAD_RANK, ROUTE_RANK = len(LINE_KINDS), len(LINE_KINDS) + 1, len(LINE_KINDS) + 2


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection around a centre, east-west distances scaled by cos(latitude).

    Braille dots are about square on a terminal (a cell is 2 dots wide, 4 high, and twice as tall as wide),
    so one `km_per_dot` serves both axes.
    """

    center_lat: float
    center_lon: float
    km_per_dot: float
    dot_width: int
    dot_height: int

    @property
    def _kx(self) -> float:
        return KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(self.center_lat))

    def to_dot(self, lat: float, lon: float) -> tuple[int, int]:
        x = (lon - self.center_lon) * self._kx / self.km_per_dot + self.dot_width / 2
        y = (self.center_lat - lat) * KM_PER_DEG_LAT / self.km_per_dot + self.dot_height / 2
        return math.floor(x), math.floor(y)

    def to_cell(self, lat: float, lon: float) -> tuple[int, int]:
        x, y = self.to_dot(lat, lon)
        return x >> 1, y >> 2

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        lon = self.center_lon + (x - self.dot_width / 2) * self.km_per_dot / self._kx
        lat = self.center_lat - (y - self.dot_height / 2) * self.km_per_dot / KM_PER_DEG_LAT
        return lat, lon

    def view_bounds(self) -> tuple[float, float, float, float]:
        """South, west, north, east of what the canvas shows."""
        north, west = self.to_latlon(0, 0)
        south, east = self.to_latlon(self.dot_width, self.dot_height)
        return south, west, north, east

    @property
    def km_per_cell(self) -> float:
        """Horizontal kilometres per terminal column."""
        return self.km_per_dot * 2

    def zoomed(self, factor: float) -> Projection:
        return replace(self, km_per_dot=self.km_per_dot / factor)

    def panned(self, dx_dots: float, dy_dots: float) -> Projection:
        lat, lon = self.to_latlon(self.dot_width / 2 + dx_dots, self.dot_height / 2 + dy_dots)
        return replace(self, center_lat=lat, center_lon=lon)


def fit(bounds: Bounds, dot_width: int, dot_height: int) -> Projection:
    """The projection that shows the whole of `bounds` on a canvas of that many dots."""
    clat, clon = bounds.center
    kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(clat))
    width_km = max((bounds.east - bounds.west) * kx, 0.1)
    height_km = max((bounds.north - bounds.south) * KM_PER_DEG_LAT, 0.1)
    km_per_dot = max(width_km / max(dot_width, 1), height_km / max(dot_height, 1))
    return Projection(clat, clon, km_per_dot, dot_width, dot_height)


def scale_bar(km_per_cell: float, max_cells: int) -> tuple[float, int]:
    """The longest round distance (1, 2 or 5 times a power of ten km) whose bar fits in `max_cells` columns."""
    if km_per_cell <= 0 or max_cells < 1:
        return 0.0, 0
    best = (0.0, 0)
    for exponent in range(-3, 5):
        for mantissa in (1, 2, 5):
            km = mantissa * 10.0**exponent
            cells = round(km / km_per_cell)
            if 1 <= cells <= max_cells and km > best[0]:
                best = (km, cells)
    return best


def format_km(km: float) -> str:
    return f"{km * 1000:.0f} m" if km < 1 else f"{km:g} km"


def technician_glyph(ascii_only: bool) -> str:
    return "@" if ascii_only else "●"


def job_glyph(priority: int, ascii_only: bool) -> str:
    if ascii_only:
        return {1: "!", 2: "*"}.get(priority, "+")
    return {1: "▲", 2: "◆"}.get(priority, "•")


def depot_glyph(ascii_only: bool) -> str:
    return "H" if ascii_only else "⌂"


class LabelPlacer:
    """Which cells are taken: markers reserve theirs first, then each label takes the first free spot offered."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._taken: set[tuple[int, int]] = set()

    def reserve(self, col: int, row: int, length: int = 1) -> None:
        self._taken.update((c, row) for c in range(col, col + length))

    def fits(self, col: int, row: int, length: int, gap: int = 0) -> bool:
        if row < 0 or row >= self.height or col < 0 or col + length > self.width:
            return False
        return not any((c, row) in self._taken for c in range(col - gap, col + length + gap))

    def place(self, spots: Iterable[tuple[int, int]], length: int, gap: int = 0) -> tuple[int, int] | None:
        for col, row in spots:
            if self.fits(col, row, length, gap):
                self.reserve(col - gap, row, length + 2 * gap)
                return col, row
        return None


def beside(col: int, row: int, length: int) -> list[tuple[int, int]]:
    """Spots for a marker's label: right, left, above, below."""
    return [(col + 1, row), (col - length, row), (col, row - 1), (col, row + 1), (col - length + 1, row - 1)]


def centred(col: int, row: int, length: int) -> list[tuple[int, int]]:
    """Spots for a name at a point: centred on it, then just above or below."""
    start = col - length // 2
    return [(start, row), (start, row - 1), (start, row + 1)]


def draw_map(
    state: MapState,
    projection: Projection,
    width: int,
    height: int,
    *,
    ascii_only: bool = False,
    selected: str | None = None,
    selected_job: str | None = None,
    base: BaseLayer | None = None,
) -> BrailleCanvas:
    """Everything the map shows, drawn onto a canvas of `width` x `height` cells (styles are names)."""
    canvas = BrailleCanvas(width, height, ascii_only=ascii_only)
    base = base if base is not None else state.base
    level = level_for(projection.km_per_cell)
    if base is not None:
        for line in base.visible_lines(level, *projection.view_bounds()):
            dots = [projection.to_dot(lat, lon) for lat, lon in line.points]
            canvas.polyline(dots, line.kind, rank=LINE_RANK.get(line.kind, 0))
    if state.area:
        canvas.polyline([projection.to_dot(lat, lon) for lat, lon in state.area], "area", rank=AREA_RANK)
    chosen = next((t for t in state.technicians if t.code == selected), None)
    if chosen is not None and chosen.route:
        stops = [projection.to_dot(lat, lon) for lat, lon in chosen.route]
        canvas.polyline([projection.to_dot(chosen.lat, chosen.lon), stops[0]], "route-lead", rank=ROUTE_LEAD_RANK)
        canvas.polyline(stops, "route", rank=ROUTE_RANK)

    places = LabelPlacer(width, height)
    marks: list[tuple[int, int, str, str]] = []  # drawn last, over every label
    dcol, drow = projection.to_cell(*state.depot)
    marks.append((dcol, drow, depot_glyph(ascii_only), "depot"))
    for job in sorted(state.jobs, key=lambda j: -j.priority):  # P1 drawn last, on top
        col, row = projection.to_cell(job.lat, job.lon)
        style = f"job-p{min(job.priority, 3)}" + ("-open" if job.technician_id is None else "")
        marks.append((col, row, job_glyph(job.priority, ascii_only), "selected" if job.ref == selected_job else style))
    techs = sorted(state.technicians, key=lambda t: t.code == selected)  # the selected one on top
    for tech in techs:
        col, row = projection.to_cell(tech.lat, tech.lon)
        marks.append((col, row, technician_glyph(ascii_only), f"tech-{tech.status}"))
    for col, row, glyph, _ in marks:
        places.reserve(col, row, len(glyph))

    labels: list[tuple[int, int, str, str]] = []
    picked = next((j for j in state.jobs if j.ref == selected_job), None)
    if picked is not None:
        col, row = projection.to_cell(picked.lat, picked.lon)
        spot = places.place(beside(col, row, len(picked.ref)), len(picked.ref))
        if spot is not None:
            labels.append((*spot, picked.ref, "selected"))
    for tech in reversed(techs):  # the selected technician's label first, then the others
        col, row = projection.to_cell(tech.lat, tech.lon)
        text = f" {tech.code} " if tech.code == selected else tech.code
        spot = places.place(beside(col, row, len(text)), len(text))
        if spot is not None:
            labels.append((*spot, text, "selected" if tech.code == selected else f"tech-{tech.status}"))
    if chosen is not None:
        for n, (lat, lon) in enumerate(chosen.route, start=1):
            col, row = projection.to_cell(lat, lon)
            spot = places.place(beside(col, row, len(str(n))), len(str(n)))
            if spot is not None:
                labels.append((*spot, str(n), "route-stop"))
    if base is not None:
        south, west, north, east = projection.view_bounds()
        for label in base.labels:  # most important first; a name that would touch another is left out
            if label.level > level or not (south <= label.lat <= north and west <= label.lon <= east):
                continue
            if label.kind == "street" and projection.km_per_cell > STREET_NAMES_KM_PER_CELL:
                continue
            col, row = projection.to_cell(label.lat, label.lon)
            spot = places.place(centred(col, row, len(label.name)), len(label.name), gap=2)
            if spot is not None:
                labels.append((*spot, label.name, f"{label.kind}-label"))
    for col, row, text, style in labels:
        canvas.text(col, row, text, style)
    for col, row, glyph, style in marks:
        canvas.text(col, row, glyph, style)
    return canvas


def legend_items(ascii_only: bool) -> list[list[Run]]:
    """The key to every glyph on the map, one group of styled runs per symbol."""
    tg = technician_glyph(ascii_only)
    items = [[Run(tg, f"tech-{s}"), Run(f" {STATUS_WORDS[s]}", None)] for s in TECH_STATUSES]
    items += [
        [Run(job_glyph(1, ascii_only), "job-p1-open"), Run(" P1", None)],
        [Run(job_glyph(2, ascii_only), "job-p2-open"), Run(" P2", None)],
        [Run(job_glyph(3, ascii_only), "job-p3-open"), Run(" P3+ open", None)],
        [Run(job_glyph(3, ascii_only), "job-p3"), Run(" planned", None)],
        [Run(depot_glyph(ascii_only), "depot"), Run(" depot", None)],
        [Run("1" if ascii_only else "⠒1", "route-stop"), Run(" route stop", None)],
    ]
    return items


def legend_lines(items: list[list[Run]], width: int, reserve_last: int) -> list[list[Run]]:
    """Items on one line if they fit beside `reserve_last` columns (the scale bar); else as many as fit on a
    first line and the rest on a second, beside the scale bar (a very narrow terminal keeps what fits)."""
    widths = [sum(len(r.text) for r in item) + 2 for item in items]
    if sum(widths) + reserve_last <= width:
        return [[r for item in items for r in (*item, Run("  ", None))]]
    lines: list[list[Run]] = [[], []]
    used, line = 0, 0
    for item, w in zip(items, widths, strict=True):
        if used + w > (width if line == 0 else width - reserve_last):
            if line == 1:
                break
            line, used = 1, 0
            if w > width - reserve_last:
                break
        lines[line] += [*item, Run("  ", None)]
        used += w
    return lines


class MapCanvas(Widget, can_focus=True):
    """A map of one branch: set `state`, move technicians live, zoom and pan with keys."""

    DEFAULT_CSS = (Path(__file__).with_suffix(".tcss")).read_text(encoding="utf-8")

    COMPONENT_CLASSES = {
        "map-canvas--title",
        "map-canvas--legend",
        *(f"map-canvas--{kind}" for kind in LINE_KINDS),
        "map-canvas--place-label",
        "map-canvas--street-label",
        "map-canvas--area",
        "map-canvas--route",
        "map-canvas--route-lead",
        "map-canvas--route-stop",
        "map-canvas--depot",
        "map-canvas--selected",
        "map-canvas--job-p1",
        "map-canvas--job-p2",
        "map-canvas--job-p3",
        "map-canvas--job-p1-open",
        "map-canvas--job-p2-open",
        "map-canvas--job-p3-open",
        *(f"map-canvas--tech-{s}" for s in TECH_STATUSES),
    }

    BINDINGS = [
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", key_display="+"),
        Binding("minus", "zoom(-1)", "Zoom out", key_display="-"),
        Binding("left,h", "pan(-1, 0)", "Pan west", show=False),
        Binding("right,l", "pan(1, 0)", "Pan east", show=False),
        Binding("up,k", "pan(0, -1)", "Pan north", show=False),
        Binding("down,j", "pan(0, 1)", "Pan south", show=False),
        Binding("0", "reset_view", "Fit area"),
        Binding("tab,t", "cycle(1)", "Next tech", priority=True),
        Binding("shift+tab,T", "cycle(-1)", "Prev tech", show=False, priority=True),
        Binding("c", "center_selected", "Centre tech"),
    ]

    class TechnicianChosen(Message):
        """The user moved the selection to another technician (their route is drawn)."""

        def __init__(self, code: str | None) -> None:
            super().__init__()
            self.code = code

    state: reactive[MapState | None] = reactive(None, layout=False, always_update=True)
    selected: reactive[str | None] = reactive(None)
    selected_job: reactive[str | None] = reactive(None)
    zoom_level: reactive[int] = reactive(0)
    ascii_only: reactive[bool] = reactive(False)
    title: reactive[str] = reactive("")

    def __init__(self, *, ascii_only: bool = False, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.set_reactive(MapCanvas.ascii_only, ascii_only)
        self._pan = (0.0, 0.0)  # centre offset from the fitted centre, in km (east, south)
        self._canvas: BrailleCanvas | None = None
        self._strips: dict[int, Strip] = {}
        self._redraw_pending = False

    # -- geometry -------------------------------------------------------------------------------

    def _legend(self) -> list[list[Run]]:
        return legend_lines(legend_items(self.ascii_only), self.size.width, 30)

    @property
    def canvas_size(self) -> Size:
        """Cells available to the map itself (the first line is the title, the last ones the legend)."""
        return Size(self.size.width, max(0, self.size.height - 1 - len(self._legend())))

    def projection(self) -> Projection | None:
        if self.state is None or self.canvas_size.area == 0:
            return None
        size = self.canvas_size
        base = fit(self.state.bounds, size.width * 2, size.height * 4).zoomed(ZOOM_STEP**self.zoom_level)
        kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(base.center_lat))
        east_km, south_km = self._pan
        return replace(
            base,
            center_lat=base.center_lat - south_km / KM_PER_DEG_LAT,
            center_lon=base.center_lon + east_km / kx,
        )

    # -- live updates ---------------------------------------------------------------------------

    def move_technician(
        self, code: str, lat: float | None = None, lon: float | None = None, status: str | None = None
    ) -> bool:
        """Apply a position or status event; the redraw is coalesced (at most about four a second)."""
        if self.state is None:
            return False
        techs = list(self.state.technicians)
        for i, tech in enumerate(techs):
            if tech.code == code:
                techs[i] = replace(
                    tech,
                    lat=tech.lat if lat is None else lat,
                    lon=tech.lon if lon is None else lon,
                    status=tech.status if status is None else status,
                )
                break
        else:
            return False
        self.set_reactive(MapCanvas.state, replace(self.state, technicians=tuple(techs)))
        self._schedule_redraw()
        return True

    def _schedule_redraw(self) -> None:
        if not self._redraw_pending:
            self._redraw_pending = True
            self.set_timer(0.25, self._redraw_now)

    def _redraw_now(self) -> None:
        self._redraw_pending = False
        self._invalidate()

    def _invalidate(self) -> None:
        self._canvas = None
        self._strips.clear()
        self.refresh()

    def watch_state(self) -> None:
        self._invalidate()

    def watch_selected(self) -> None:
        self._invalidate()

    def watch_selected_job(self) -> None:
        self._invalidate()

    def watch_zoom_level(self) -> None:
        self._invalidate()

    def watch_ascii_only(self) -> None:
        self._invalidate()

    def watch_title(self) -> None:
        self._invalidate()

    def on_resize(self) -> None:
        self._invalidate()

    # -- actions --------------------------------------------------------------------------------

    def action_zoom(self, steps: int) -> None:
        self.zoom_level = max(-3, min(12, self.zoom_level + steps))

    def action_pan(self, dx: int, dy: int) -> None:
        projection = self.projection()
        if projection is None:
            return
        size = self.canvas_size
        step_x = size.width * projection.km_per_cell / 4
        step_y = size.height * projection.km_per_dot * 4 / 4
        self._pan = (self._pan[0] + dx * step_x, self._pan[1] + dy * step_y)
        self._invalidate()

    def action_reset_view(self) -> None:
        self._pan = (0.0, 0.0)
        self.zoom_level = 0
        self._invalidate()

    def action_cycle(self, step: int) -> None:
        if self.state is None or not self.state.technicians:
            return
        codes = [t.code for t in self.state.technicians]
        index = codes.index(self.selected) + step if self.selected in codes else (0 if step > 0 else -1)
        self.selected = codes[index % len(codes)]
        self.post_message(self.TechnicianChosen(self.selected))

    def center_on(self, lat: float, lon: float) -> None:
        """Pan so that the point is in the middle of the canvas (the zoom stays)."""
        projection = self.projection()
        if projection is None:
            return
        x, y = projection.to_dot(lat, lon)
        self._pan = (
            self._pan[0] + (x - projection.dot_width / 2) * projection.km_per_dot,
            self._pan[1] + (y - projection.dot_height / 2) * projection.km_per_dot,
        )
        self._invalidate()

    def action_center_selected(self) -> None:
        tech = self.selected_technician()
        if tech is not None:
            self.center_on(tech.lat, tech.lon)

    def selected_technician(self) -> MapTechnician | None:
        if self.state is None:
            return None
        return next((t for t in self.state.technicians if t.code == self.selected), None)

    # -- drawing --------------------------------------------------------------------------------

    def _style(self, name: str | None) -> Style:
        """The widget's style with the component's on top; its colour is the resolved one (a theme's
        muted text is a translucent colour, which only the full style blends over the background)."""
        if name is None:
            return self.rich_style
        component = f"map-canvas--{name}"
        resolved = self.get_component_rich_style(component)
        own = self.get_component_rich_style(component, partial=True)
        return self.rich_style + own + Style(color=resolved.color)

    def _strip(self, runs: Iterable[Run], width: int) -> Strip:
        segments = [Segment(run.text, self._style(run.style)) for run in runs]
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _footer_runs(self, line: int, projection: Projection | None) -> list[Run]:
        legend = self._legend()
        runs = legend[line] if line < len(legend) else []
        if line != len(legend) - 1 or projection is None:
            return runs
        width = self.size.width
        km, cells = scale_bar(projection.km_per_cell, max(4, min(20, width // 5)))
        bar = ("|" + "-" * max(0, cells - 2) + "|") if self.ascii_only else ("├" + "─" * max(0, cells - 2) + "┤")
        detail = DETAIL_LEVELS[level_for(projection.km_per_cell)].name
        scale = [Run(bar, "legend"), Run(f" {format_km(km)} · {detail}", "legend")]
        used = sum(len(r.text) for r in runs)
        pad = width - used - sum(len(r.text) for r in scale)
        if pad < 1:
            return scale
        return [*runs, Run(" " * pad, None), *scale]

    def _title_runs(self) -> list[Run]:
        left = self.title or (f"{self.state.branch_name} ({self.state.branch_code})" if self.state else "no data")
        tech = self.selected_technician()
        if tech is not None:
            left += f" · {tech.name}: {len(tech.route)} stops"
        base = self.state.base if self.state else None
        width = self.size.width
        right = ""
        if base is not None:
            # The licence asks for the credit on the map: shortened ("© OpenStreetMap contributors") before dropped.
            for credit in (base.attribution, base.attribution.split(" (")[0].split(" · ")[0]):
                if len(left) + len(credit) + 1 <= width or (credit and len(credit) + 1 < width // 2):
                    right = credit
                    break
        room = width - len(right) - 1 if right else width
        if len(left) > room:
            left = left[: max(0, room - 1)] + "…"
        pad = max(0, width - len(left) - len(right))
        return [Run(left, "title"), Run(" " * pad, "title"), Run(right, "title")]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y in self._strips:
            return self._strips[y]
        projection = self.projection()
        size = self.canvas_size
        if y == 0:
            strip = self._strip(self._title_runs(), width)
        elif y > size.height:
            strip = self._strip(self._footer_runs(y - size.height - 1, projection), width)
        else:
            if self._canvas is None and self.state is not None and projection is not None:
                self._canvas = draw_map(
                    self.state,
                    projection,
                    size.width,
                    size.height,
                    ascii_only=self.ascii_only,
                    selected=self.selected,
                    selected_job=self.selected_job,
                )
            if self._canvas is None or not 0 <= y - 1 < self._canvas.height:
                strip = Strip.blank(width, self.rich_style)
            else:
                strip = self._strip(self._canvas.row_runs(y - 1), width)
        self._strips[y] = strip
        return strip
