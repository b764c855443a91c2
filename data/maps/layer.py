"""The console's base layer: lines by kind and labels, at a few levels of detail, packed into a few kilobytes.

A level holds every line worth drawing at its scale, already simplified to that scale's resolution, so the map
picks one level from its kilometres per terminal column and draws it without further work. Coordinates are kept
as integer 1e-5 degrees (about a metre), delta-encoded per line, in gzipped JSON.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from data.errors import InvalidInput

FORMAT_VERSION = 1
SCALE = 100_000  # stored units per degree
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"

# Line kinds, drawn in this order (later ones on top).
LINE_KINDS = ("park", "water", "coast", "rail", "street", "road", "main-road")
LABEL_KINDS = ("place", "street")


@dataclass(frozen=True)
class DetailLevel:
    """One zoom band: used while a terminal column spans at least `min_km_per_cell` km."""

    name: str
    min_km_per_cell: float
    tolerance_m: float  # Douglas-Peucker tolerance its lines were simplified with
    kinds: frozenset[str]


# From the whole region down to single streets: each level adds the kinds that become readable at its scale.
DETAIL_LEVELS: tuple[DetailLevel, ...] = (
    DetailLevel("region", 0.25, 60.0, frozenset({"coast", "water", "park", "rail", "main-road"})),
    DetailLevel("district", 0.04, 10.0, frozenset({"coast", "water", "park", "rail", "main-road", "road"})),
    DetailLevel("street", 0.0, 3.0, frozenset(LINE_KINDS)),
)


# Street names need room: they are printed only this close (a column under 20 m), where a name fits its street.
STREET_NAMES_KM_PER_CELL = 0.02


def level_for(km_per_cell: float) -> int:
    """The index of the detail level a map at `km_per_cell` draws."""
    for i, level in enumerate(DETAIL_LEVELS):
        if km_per_cell >= level.min_km_per_cell:
            return i
    return len(DETAIL_LEVELS) - 1


@dataclass(frozen=True)
class MapLine:
    kind: str
    points: tuple[tuple[float, float], ...]  # (lat, lon)


@dataclass(frozen=True)
class MapLabel:
    """A name to print at a point; `rank` orders who wins a crowded spot (0 first); shown from `level` on."""

    kind: str
    name: str
    lat: float
    lon: float
    rank: int
    level: int


@dataclass(frozen=True)
class BaseLayer:
    """Everything the map draws under the live markers, for one area."""

    bounds: tuple[float, float, float, float]  # south, west, north, east
    levels: tuple[tuple[MapLine, ...], ...]  # one tuple of lines per DETAIL_LEVELS entry
    labels: tuple[MapLabel, ...] = ()
    attribution: str = ""
    source: str = ""
    bbox_cache: dict[int, list[tuple[float, float, float, float]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def lines_at(self, level: int) -> tuple[MapLine, ...]:
        if not self.levels:
            return ()
        return self.levels[min(level, len(self.levels) - 1)]

    def visible_lines(self, level: int, south: float, west: float, north: float, east: float) -> list[MapLine]:
        """The lines of a level whose bounding box meets the view (the rest are never projected)."""
        lines = self.lines_at(level)
        boxes = self.bbox_cache.get(level)
        if boxes is None:
            boxes = [_bbox(line.points) for line in lines]
            self.bbox_cache[level] = boxes
        return [
            line
            for line, (s, w, n, e) in zip(lines, boxes, strict=True)
            if n >= south and s <= north and e >= west and w <= east
        ]


def _bbox(points: tuple[tuple[float, float], ...]) -> tuple[float, float, float, float]:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    return min(lats), min(lons), max(lats), max(lons)


def _pack_points(points: tuple[tuple[float, float], ...]) -> list[int]:
    out: list[int] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        qlat, qlon = round(lat * SCALE), round(lon * SCALE)
        out += [qlat - prev_lat, qlon - prev_lon]
        prev_lat, prev_lon = qlat, qlon
    return out


def _unpack_points(flat: list[int]) -> tuple[tuple[float, float], ...]:
    points: list[tuple[float, float]] = []
    lat = lon = 0
    for i in range(0, len(flat) - 1, 2):
        lat += flat[i]
        lon += flat[i + 1]
        points.append((lat / SCALE, lon / SCALE))
    return tuple(points)


def encode_layer(layer: BaseLayer) -> bytes:
    """The layer as gzipped JSON (what the database and the shipped demo layer hold)."""
    levels = []
    for lines in layer.levels:
        by_kind: dict[str, list[list[int]]] = {}
        for line in lines:
            by_kind.setdefault(line.kind, []).append(_pack_points(line.points))
        levels.append(by_kind)
    doc = {
        "format": FORMAT_VERSION,
        "attribution": layer.attribution,
        "source": layer.source,
        "bounds": [round(v, 5) for v in layer.bounds],
        "levels": levels,
        "labels": [
            [lb.kind, lb.name, round(lb.lat * SCALE), round(lb.lon * SCALE), lb.rank, lb.level] for lb in layer.labels
        ],
    }
    return pack_json(doc)


def pack_json(doc: dict[str, object]) -> bytes:
    """A document as compact gzipped JSON, byte for byte the same each time (the map blobs' format)."""
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return gzip.compress(raw, compresslevel=9, mtime=0)


def unpack_json(blob: bytes, version: int, what: str, record: str) -> dict[str, Any]:
    """Read what `pack_json` wrote, of format `version`; anything else is refused naming the record."""
    try:
        doc = json.loads(gzip.decompress(blob).decode("utf-8"))
    except (OSError, EOFError, ValueError) as exc:
        raise InvalidInput(f"not {what} ({exc})", record=record) from None
    if not isinstance(doc, dict) or doc.get("format") != version:
        found = doc.get("format") if isinstance(doc, dict) else "?"
        raise InvalidInput(f"{what} in format {found}, expected {version}", record=record)
    return doc


def decode_layer(blob: bytes, *, record: str = "base layer") -> BaseLayer:
    """Read what `encode_layer` wrote; anything else is refused naming the record."""
    doc = unpack_json(blob, FORMAT_VERSION, "a base layer", record)
    levels = tuple(
        tuple(MapLine(kind, _unpack_points(flat)) for kind, parts in by_kind.items() for flat in parts)
        for by_kind in doc["levels"]
    )
    labels = tuple(
        MapLabel(str(kind), str(name), lat / SCALE, lon / SCALE, int(rank), int(level))
        for kind, name, lat, lon, rank, level in doc.get("labels", [])
    )
    s, w, n, e = (float(v) for v in doc["bounds"])
    return BaseLayer((s, w, n, e), levels, labels, str(doc.get("attribution", "")), str(doc.get("source", "")))
