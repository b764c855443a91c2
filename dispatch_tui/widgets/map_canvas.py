"""The service-area map: technicians, jobs and a route drawn with braille dots (or ASCII) by the line API."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from data.queries.board import Bounds, MapState, MapTechnician
from dispatch_tui.widgets.braille import BrailleCanvas, Run

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
BASE_LAYER = Path(__file__).resolve().parent.parent / "assets" / "helsinki_base.geojson"
ZOOM_STEP = 1.5
TECH_STATUSES = ("available", "en_route", "on_site", "break", "off", "absent")


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


@dataclass(frozen=True)
class BaseLayer:
    """Background lines (coastline, main roads) as lists of (lat, lon) with a kind, plus their attribution."""

    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    attribution: str = ""


@cache
def load_base_layer(path: Path = BASE_LAYER) -> BaseLayer:
    """Read the shipped GeoJSON (LineStrings and Polygons with a `kind`); empty when the file is missing."""
    if not path.exists():
        return BaseLayer(())
    data = json.loads(path.read_text(encoding="utf-8"))
    lines: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        kind = str((feature.get("properties") or {}).get("kind", "road"))
        gtype, coords = str(geometry.get("type")), geometry.get("coordinates", [])
        parts = {"LineString": [coords], "MultiLineString": coords, "Polygon": coords}.get(gtype, [])
        for part in parts:
            lines.append((kind, tuple((float(lat), float(lon)) for lon, lat in part)))
    return BaseLayer(tuple(lines), str(data.get("attribution", "")))


def technician_glyph(ascii_only: bool) -> str:
    return "@" if ascii_only else "●"


def job_glyph(priority: int, ascii_only: bool) -> str:
    if ascii_only:
        return {1: "!", 2: "*"}.get(priority, "+")
    return {1: "▲", 2: "◆"}.get(priority, "•")


def draw_map(
    state: MapState,
    projection: Projection,
    width: int,
    height: int,
    *,
    ascii_only: bool = False,
    selected: str | None = None,
    base: BaseLayer | None = None,
) -> BrailleCanvas:
    """Everything the map shows, drawn onto a canvas of `width` x `height` cells (styles are names)."""
    canvas = BrailleCanvas(width, height, ascii_only=ascii_only)
    for kind, points in base.lines if base else ():
        canvas.polyline([projection.to_dot(lat, lon) for lat, lon in points], kind, rank=0 if kind == "coast" else 1)
    if state.area:
        canvas.polyline([projection.to_dot(lat, lon) for lat, lon in state.area], "area", rank=2)
    chosen = next((t for t in state.technicians if t.code == selected), None)
    if chosen is not None and chosen.route:
        stops = [projection.to_dot(lat, lon) for lat, lon in chosen.route]
        canvas.polyline([projection.to_dot(chosen.lat, chosen.lon), stops[0]], "route-lead", rank=3)
        canvas.polyline(stops, "route", rank=4)
    dcol, drow = projection.to_cell(*state.depot)
    canvas.text(dcol, drow, "H" if ascii_only else "⌂", "depot")
    for job in sorted(state.jobs, key=lambda j: -j.priority):  # P1 drawn last, on top
        col, row = projection.to_cell(job.lat, job.lon)
        style = f"job-p{min(job.priority, 3)}"
        if job.technician_id is None:
            style += "-open"
        canvas.text(col, row, job_glyph(job.priority, ascii_only), style)
    if chosen is not None:
        for n, (lat, lon) in enumerate(chosen.route, start=1):
            col, row = projection.to_cell(lat, lon)
            canvas.text(col + 1, row, str(n), "route-stop")
    for tech in state.technicians:
        if tech.code == selected:
            continue
        col, row = projection.to_cell(tech.lat, tech.lon)
        canvas.text(col, row, technician_glyph(ascii_only), f"tech-{tech.status}")
    if chosen is not None:
        col, row = projection.to_cell(chosen.lat, chosen.lon)
        canvas.text(col, row, technician_glyph(ascii_only), f"tech-{chosen.status}")
        canvas.text(col + 1, row, f" {chosen.code} ", "selected")
    return canvas


def legend_runs(ascii_only: bool) -> list[Run]:
    """The key to the symbols, as styled runs (the widget's bottom line)."""
    tg = technician_glyph(ascii_only)
    runs = [
        Run(tg, "tech-available"),
        Run(" free ", None),
        Run(tg, "tech-en_route"),
        Run(" driving ", None),
        Run(tg, "tech-on_site"),
        Run(" on site ", None),
        Run(tg, "tech-off"),
        Run(" off  ", None),
        Run(job_glyph(1, ascii_only), "job-p1-open"),
        Run("P1 ", None),
        Run(job_glyph(2, ascii_only), "job-p2-open"),
        Run("P2 ", None),
        Run(job_glyph(3, ascii_only), "job-p3-open"),
        Run("P3+ ", None),
    ]
    return runs


class MapCanvas(Widget, can_focus=True):
    """A map of one branch: set `state`, move technicians live, zoom and pan with keys."""

    DEFAULT_CSS = (Path(__file__).with_suffix(".tcss")).read_text(encoding="utf-8")

    COMPONENT_CLASSES = {
        "map-canvas--title",
        "map-canvas--legend",
        "map-canvas--coast",
        "map-canvas--road",
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
        self._base = load_base_layer()

    # -- geometry -------------------------------------------------------------------------------

    @property
    def canvas_size(self) -> Size:
        """Cells available to the map itself (the first line is the title, the last the legend)."""
        return Size(self.size.width, max(0, self.size.height - 2))

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
        self.zoom_level = max(-3, min(8, self.zoom_level + steps))

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

    def action_center_selected(self) -> None:
        tech = self.selected_technician()
        projection = self.projection()
        if tech is None or projection is None:
            return
        x, y = projection.to_dot(tech.lat, tech.lon)
        self._pan = (
            self._pan[0] + (x - projection.dot_width / 2) * projection.km_per_dot,
            self._pan[1] + (y - projection.dot_height / 2) * projection.km_per_dot,
        )
        self._invalidate()

    def selected_technician(self) -> MapTechnician | None:
        if self.state is None:
            return None
        return next((t for t in self.state.technicians if t.code == self.selected), None)

    # -- drawing --------------------------------------------------------------------------------

    def _style(self, name: str | None) -> Style:
        if name is None:
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"map-canvas--{name}", partial=True)

    def _strip(self, runs: Iterable[Run], width: int) -> Strip:
        segments = [Segment(run.text, self._style(run.style)) for run in runs]
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _footer_runs(self, projection: Projection | None) -> list[Run]:
        width = self.size.width
        legend = legend_runs(self.ascii_only)
        used = sum(len(r.text) for r in legend)
        if projection is None:
            return legend
        km, cells = scale_bar(projection.km_per_cell, max(4, min(20, width // 5)))
        label = format_km(km)
        bar = ("|" + "-" * max(0, cells - 2) + "|") if self.ascii_only else ("├" + "─" * max(0, cells - 2) + "┤")
        scale = [Run(bar, "legend"), Run(f" {label}", "legend")]
        scale_len = len(bar) + len(label) + 1
        if used + scale_len + 1 > width:
            # Too narrow for both: the scale bar matters more than the key on a small screen.
            legend = legend[: max(0, len(legend) - 6)]
            used = sum(len(r.text) for r in legend)
        pad = max(1, width - used - scale_len)
        return [*legend, Run(" " * pad, None), *scale]

    def _title_runs(self) -> list[Run]:
        left = self.title or (f"{self.state.branch_name} ({self.state.branch_code})" if self.state else "no data")
        tech = self.selected_technician()
        if tech is not None:
            left += f" · {tech.name}: {len(tech.route)} stops"
        right = self._base.attribution
        pad = self.size.width - len(left) - len(right)
        if pad < 1:
            return [Run(left, "title")]
        return [Run(left, "title"), Run(" " * pad, "title"), Run(right, "title")]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y in self._strips:
            return self._strips[y]
        projection = self.projection()
        if y == 0:
            strip = self._strip(self._title_runs(), width)
        elif y == self.size.height - 1:
            strip = self._strip(self._footer_runs(projection), width)
        else:
            if self._canvas is None and self.state is not None and projection is not None:
                size = self.canvas_size
                self._canvas = draw_map(
                    self.state,
                    projection,
                    size.width,
                    size.height,
                    ascii_only=self.ascii_only,
                    selected=self.selected,
                    base=self._base,
                )
            if self._canvas is None or not 0 <= y - 1 < self._canvas.height:
                strip = Strip.blank(width, self.rich_style)
            else:
                strip = self._strip(self._canvas.row_runs(y - 1), width)
        self._strips[y] = strip
        return strip
