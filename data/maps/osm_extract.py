"""Read an OpenStreetMap extract (.osm.pbf) into a base layer for the map and a road graph for travel times.

pyosmium streams the file twice: first the drivable ways, to learn which nodes are junctions (shared by two ways
or ending one), then everything with node locations and assembled areas. The road graph keeps only junctions
as nodes, each edge carrying the length of the way between them at its class's speed (or its `maxspeed`), in
both directions unless the way is one-way. Lines are simplified with shapely once per detail level.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.errors import InvalidInput
from data.maps.layer import DETAIL_LEVELS, OSM_ATTRIBUTION, BaseLayer, MapLabel, MapLine
from optimizer.road_travel import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQUATOR, RoadGraph

Progress = Callable[[str, int, int], None]

# Free-flow km/h by highway class where the way states no maxspeed (urban-leaning defaults).
SPEED_KMH: dict[str, float] = {
    "motorway": 100,
    "motorway_link": 60,
    "trunk": 80,
    "trunk_link": 50,
    "primary": 50,
    "primary_link": 40,
    "secondary": 45,
    "secondary_link": 35,
    "tertiary": 40,
    "tertiary_link": 30,
    "unclassified": 30,
    "residential": 30,
    "living_street": 10,
    "service": 15,
}
ROAD_KIND: dict[str, str] = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"), "main-road"),
    **dict.fromkeys(("secondary", "secondary_link", "tertiary", "tertiary_link"), "road"),
    **dict.fromkeys(("unclassified", "residential", "living_street"), "street"),
}
RAIL = frozenset({"rail", "light_rail", "subway", "narrow_gauge"})
WATERWAY = frozenset({"river", "canal"})
WATER_AREA = frozenset({"water", "bay"})
PARK_AREA = {("leisure", "park"), ("leisure", "garden"), ("landuse", "forest"), ("natural", "wood")}
PLACE_RANK = {"city": 0, "town": 1, "borough": 2, "suburb": 2, "quarter": 3, "village": 3, "neighbourhood": 4}
PLACE_LEVEL = {"city": 0, "town": 0, "borough": 0, "suburb": 1, "village": 1, "quarter": 1, "neighbourhood": 2}
MIN_AREA_KM2 = (0.05, 0.005, 0.0)  # smallest park or water drawn at each detail level

MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$")


@dataclass(frozen=True)
class ExtractedMap:
    layer: BaseLayer
    graph: RoadGraph


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise InvalidInput("no such file", record=str(path))
    if not path.name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")):
        raise InvalidInput("expected an OpenStreetMap extract (.osm.pbf)", record=str(path))


def _speed(tags: Any, highway: str) -> float:
    match = MAXSPEED.match(tags.get("maxspeed", "") or "")
    if match:
        value = float(match.group(1)) * (1.609 if match.group(2) else 1.0)
        if 5 <= value <= 130:
            return value
    return SPEED_KMH[highway]


def _oneway(tags: Any, highway: str) -> int:
    """1 forward only, -1 backward only, 0 both ways."""
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value == "-1":
        return -1
    if value == "no":
        return 0
    return 1 if highway in ("motorway", "motorway_link") or tags.get("junction") in ("roundabout", "circular") else 0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * KM_PER_DEG_LAT)


def _junctions(path: Path) -> set[int]:
    import osmium

    uses: Counter[int] = Counter()
    ways: Any = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
    for way in ways:
        if way.tags.get("highway") in SPEED_KMH and len(way.nodes) >= 2:
            refs = [n.ref for n in way.nodes]
            uses.update(refs)
            uses[refs[0]] += 1  # a way's ends are graph nodes whatever else meets them
            uses[refs[-1]] += 1
    return {ref for ref, count in uses.items() if count >= 2}


class _Collector:
    """Gathers raw lines, labels and graph edges while the file streams past."""

    def __init__(self, junctions: set[int]) -> None:
        self.junctions = junctions
        self.node_index: dict[int, int] = {}
        self.node_lat: list[float] = []
        self.node_lon: list[float] = []
        self.edges: list[tuple[int, int, float]] = []
        self.lines: list[tuple[str, list[tuple[float, float]]]] = []
        self.areas: list[tuple[str, Any]] = []  # (kind, shapely polygon in lon/lat)
        self.labels: list[MapLabel] = []
        self.street_pieces: dict[str, list[tuple[float, list[tuple[float, float]]]]] = {}
        self.south, self.west, self.north, self.east = 90.0, 180.0, -90.0, -180.0

    def _node(self, ref: int, lat: float, lon: float) -> int:
        index = self.node_index.get(ref)
        if index is None:
            index = len(self.node_lat)
            self.node_index[ref] = index
            self.node_lat.append(lat)
            self.node_lon.append(lon)
        return index

    def _extend(self, points: list[tuple[float, float]]) -> None:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        self.south, self.north = min(self.south, *lats), max(self.north, *lats)
        self.west, self.east = min(self.west, *lons), max(self.east, *lons)

    def node(self, node: Any) -> None:
        tags = node.tags
        place, name = tags.get("place"), tags.get("name")
        if place in PLACE_RANK and name:
            loc = node.location
            self._extend([(loc.lat, loc.lon)])
            self.labels.append(MapLabel("place", name, loc.lat, loc.lon, PLACE_RANK[place], PLACE_LEVEL[place]))

    def way(self, way: Any) -> None:
        tags = way.tags
        try:
            points = [(n.lat, n.lon) for n in way.nodes]
        except Exception:  # a node missing from a clipped extract: skip the way
            return
        if len(points) < 2:
            return
        self._extend(points)
        highway = tags.get("highway")
        if highway in SPEED_KMH:
            self._road(way, tags, highway, points)
        elif tags.get("railway") in RAIL:
            self.lines.append(("rail", points))
        elif tags.get("natural") == "coastline":
            self.lines.append(("coast", points))
        elif tags.get("waterway") in WATERWAY:
            self.lines.append(("water", points))

    def _road(self, way: Any, tags: Any, highway: str, points: list[tuple[float, float]]) -> None:
        kind = ROAD_KIND.get(highway)
        if kind is not None:
            self.lines.append((kind, points))
            name = tags.get("name")
            if name:
                length = sum(_km(*a, *b) for a, b in itertools.pairwise(points))
                self.street_pieces.setdefault(name, []).append((length, points))
        speed_kms = _speed(tags, highway) / 3600
        direction = _oneway(tags, highway)
        refs = [n.ref for n in way.nodes]
        start = self._node(refs[0], *points[0])
        km = 0.0
        for i in range(1, len(refs)):
            km += _km(*points[i - 1], *points[i])
            if refs[i] in self.junctions or i == len(refs) - 1:
                end = self._node(refs[i], *points[i])
                seconds = km / speed_kms
                if direction >= 0:
                    self.edges.append((start, end, seconds))
                if direction <= 0:
                    self.edges.append((end, start, seconds))
                start, km = end, 0.0

    def area(self, area: Any, wkb: Any) -> None:
        tags = area.tags
        kind = None
        if tags.get("natural") in WATER_AREA or tags.get("landuse") in ("reservoir", "basin"):
            kind = "water"
        elif any(tags.get(k) == v for k, v in PARK_AREA):
            kind = "park"
        if kind is None:
            return
        from shapely import wkb as shapely_wkb

        try:
            polygon = shapely_wkb.loads(wkb.create_multipolygon(area), hex=True)
        except Exception:  # broken multipolygons are common in extracts; they are skipped
            return
        self.areas.append((kind, polygon))

    def street_labels(self) -> list[MapLabel]:
        """One label per street name per 1 km square, at the middle of its longest piece there."""
        best: dict[tuple[str, int, int], tuple[float, tuple[float, float]]] = {}
        for name, pieces in self.street_pieces.items():
            for length, points in pieces:
                mid = points[len(points) // 2]
                key = (name, round(mid[0] * 90), round(mid[1] * 45))
                if key not in best or best[key][0] < length:
                    best[key] = (length, mid)
        return [
            MapLabel("street", name, mid[0], mid[1], 5 + (0 if length > 0.5 else 1), 2)
            for (name, _, _), (length, mid) in sorted(best.items(), key=lambda kv: -kv[1][0])
        ]


def _km2(polygon: Any) -> float:
    c = polygon.centroid
    return float(polygon.area) * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(c.y)) * KM_PER_DEG_LAT


def simplify_levels(
    lines: list[tuple[str, list[tuple[float, float]]]],
    areas: list[tuple[str, Any]],
) -> tuple[tuple[MapLine, ...], ...]:
    """Each detail level's lines: its kinds only, simplified to its tolerance (metres, in degrees of latitude)."""
    import shapely
    from shapely.geometry import LineString, MultiLineString

    levels: list[tuple[MapLine, ...]] = []
    for li, level in enumerate(DETAIL_LEVELS):
        tolerance = level.tolerance_m / 1000 / KM_PER_DEG_LAT
        kept: list[MapLine] = []
        by_kind: dict[str, list[Any]] = {}
        for kind, points in lines:
            if kind in level.kinds:
                by_kind.setdefault(kind, []).append(LineString([(lon, lat) for lat, lon in points]))
        for kind, polygon in areas:
            if kind in level.kinds and _km2(polygon) >= MIN_AREA_KM2[li]:
                by_kind.setdefault(kind, []).append(polygon.boundary)
        for kind in sorted(by_kind):
            # Merge touching pieces first so a street split into twenty ways simplifies as one line.
            merged = shapely.line_merge(shapely.union_all(by_kind[kind])) if len(by_kind[kind]) < 20000 else None
            geoms = by_kind[kind] if merged is None else [merged]
            for geom in geoms:
                simple = shapely.simplify(geom, tolerance, preserve_topology=False)
                parts = simple.geoms if isinstance(simple, MultiLineString) else getattr(simple, "geoms", [simple])
                for part in parts:
                    coords = list(getattr(part, "coords", []))
                    if len(coords) >= 2 and part.length >= tolerance:
                        kept.append(MapLine(kind, tuple((lat, lon) for lon, lat in coords)))
        levels.append(tuple(kept))
    return tuple(levels)


def read_extract(path: Path, progress: Progress | None = None) -> ExtractedMap:
    """The base layer and road graph of one extract; a file osmium cannot read is refused naming it (exit 2)."""
    import osmium
    from osmium.geom import WKBFactory

    _check_file(path)
    report = progress or (lambda _label, _done, _total: None)
    total = 4
    report("finding junctions", 0, total)
    try:
        junctions = _junctions(path)
        report("reading ways and areas", 1, total)
        collector = _Collector(junctions)
        wkb = WKBFactory()
        processor: Any = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas()
            .with_filter(osmium.filter.EmptyTagFilter())
            .with_filter(
                osmium.filter.KeyFilter(
                    "highway", "railway", "natural", "waterway", "leisure", "landuse", "place", "water"
                )
            )
        )
        for obj in processor:
            if obj.is_node():
                collector.node(obj)
            elif obj.is_way():
                collector.way(obj)
            elif obj.is_area():
                collector.area(obj, wkb)
    except RuntimeError as exc:
        raise InvalidInput(f"not a readable OpenStreetMap extract ({exc})", record=str(path)) from None
    if not collector.lines and not collector.edges and not collector.labels:
        raise InvalidInput("the extract holds no roads, water, rail or places", record=str(path))
    report("simplifying lines", 2, total)
    levels = simplify_levels(collector.lines, collector.areas)
    labels = tuple(sorted([*collector.labels, *collector.street_labels()], key=lambda lb: (lb.rank, lb.name)))
    layer = BaseLayer(
        (collector.south, collector.west, collector.north, collector.east),
        levels,
        labels,
        OSM_ATTRIBUTION,
        path.name,
    )
    report("building the road graph", 3, total)
    graph = RoadGraph.from_edges(collector.node_lat, collector.node_lon, collector.edges)
    report("done", total, total)
    return ExtractedMap(layer, graph)
