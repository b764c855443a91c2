"""Read an OpenStreetMap extract (.osm.pbf) into a base layer for the map, a road graph for travel times and
the address points sites are geocoded from (nodes and buildings with `addr:street` and `addr:housenumber`).

pyosmium streams the file twice: first the drivable ways, to learn which nodes are junctions (shared by two ways
or ending one), then everything with node locations and assembled areas. The road graph keeps only junctions
as nodes, each edge carrying the length of the way between them at its class's speed (or its `maxspeed`), in
both directions unless the way is one-way. Lines are simplified with shapely once per detail level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from data.errors import InvalidInput
from data.maps.addresses import AddressPoint
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
    addresses: tuple[AddressPoint, ...] = ()


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


class _Collector:
    """Gathers each way's geometry as WKB (built by libosmium, so no node is handed to Python one by one),
    place labels and areas while the file streams past; the arrays are worked out once at the end."""

    def __init__(self) -> None:
        self.wkb: list[str] = []
        self.kinds: list[str] = []
        self.road_class: list[str] = []  # highway class, "" for other lines
        self.speed_kmh: list[float] = []
        self.oneway: list[int] = []
        self.names: list[str] = []
        self.areas: list[tuple[str, Any]] = []  # (kind, shapely polygon in lon/lat)
        self.labels: list[MapLabel] = []
        self.place_points: list[tuple[float, float]] = []
        self.addresses: list[AddressPoint] = []

    def address(self, tags: Any, lat: float, lon: float) -> None:
        street, number = tags.get("addr:street"), tags.get("addr:housenumber")
        if street and number:
            postcode, city = tags.get("addr:postcode", ""), tags.get("addr:city", "")
            self.addresses.append(AddressPoint(street, number, postcode, city, lat, lon))

    def node(self, node: Any) -> None:
        tags = node.tags
        if "addr:housenumber" in tags:
            self.address(tags, node.location.lat, node.location.lon)
        place, name = tags.get("place"), tags.get("name")
        if place in PLACE_RANK and name:
            loc = node.location
            self.place_points.append((loc.lat, loc.lon))
            self.labels.append(MapLabel("place", name, loc.lat, loc.lon, PLACE_RANK[place], PLACE_LEVEL[place]))

    def way(self, way: Any, factory: Any) -> None:
        tags = way.tags
        highway = tags.get("highway")
        if highway in SPEED_KMH:
            kind = ROAD_KIND.get(highway, "")
        elif tags.get("railway") in RAIL:
            kind, highway = "rail", ""
        elif tags.get("natural") == "coastline":
            kind, highway = "coast", ""
        elif tags.get("waterway") in WATERWAY:
            kind, highway = "water", ""
        else:
            return
        try:
            wkb = factory.create_linestring(way)
        except Exception:  # a node missing from a clipped extract, or a way of one point: skip it
            return
        self.wkb.append(wkb)
        self.kinds.append(kind)
        self.road_class.append(highway)
        self.speed_kmh.append(_speed(tags, highway) if highway else 0.0)
        self.oneway.append(_oneway(tags, highway) if highway else 0)
        self.names.append(tags.get("name", "") if highway else "")

    def area(self, area: Any, factory: Any) -> None:
        tags = area.tags
        if "addr:housenumber" in tags and "building" in tags:
            self.building(area, factory)
            return
        kind = None
        if tags.get("natural") in WATER_AREA or tags.get("landuse") in ("reservoir", "basin"):
            kind = "water"
        elif any(tags.get(k) == v for k, v in PARK_AREA):
            kind = "park"
        if kind is None:
            return
        from shapely import wkb as shapely_wkb

        try:
            polygon = shapely_wkb.loads(factory.create_multipolygon(area), hex=True)
        except Exception:  # broken multipolygons are common in extracts; they are skipped
            return
        self.areas.append((kind, polygon))

    def building(self, area: Any, factory: Any) -> None:
        """An addressed building, kept at its centroid."""
        from shapely import wkb as shapely_wkb

        try:
            centre = shapely_wkb.loads(factory.create_multipolygon(area), hex=True).centroid
        except Exception:  # a building missing nodes in a clipped extract: no point for its address
            return
        self.address(area.tags, float(centre.y), float(centre.x))


@dataclass(frozen=True)
class _Ways:
    """Every collected way as arrays: its geometry, and per point its way, coordinates and distance along it."""

    geoms: NDArray[np.object_]
    way_of_point: NDArray[np.intp]
    lonlat: NDArray[np.float64]
    along_km: NDArray[np.float64]


def _ways(collector: _Collector) -> _Ways:
    import shapely

    geoms = shapely.from_wkb(np.array(collector.wkb, dtype=object))
    lonlat, way_of_point = shapely.get_coordinates(geoms, return_index=True)
    step_lon = np.diff(lonlat[:, 0], prepend=lonlat[:1, 0])
    step_lat = np.diff(lonlat[:, 1], prepend=lonlat[:1, 1])
    kx = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lonlat[:, 1]))
    step = np.hypot(step_lon * kx, step_lat * KM_PER_DEG_LAT)
    first = np.ones(len(lonlat), dtype=bool)
    first[1:] = way_of_point[1:] != way_of_point[:-1]
    step[first] = 0.0
    return _Ways(geoms, way_of_point, lonlat, np.cumsum(step))


def road_graph(collector: _Collector, ways: _Ways) -> RoadGraph:
    """Junctions are the points two drivable ways share (same coordinates) and every way's ends; each stretch
    of a way between two junctions is one edge (two unless one-way) at the way's speed."""
    is_road = np.array([bool(c) for c in collector.road_class], dtype=bool)
    if not is_road.any():
        return RoadGraph.from_edges([], [], [])
    mask = is_road[ways.way_of_point]
    way = ways.way_of_point[mask]
    lonlat = ways.lonlat[mask]
    along = ways.along_km[mask]
    keys = np.round(lonlat * 1e7).astype(np.int64)
    key = keys[:, 0] * 4_000_000_000 + keys[:, 1]
    ends = np.zeros(len(way), dtype=bool)
    ends[0] = ends[-1] = True
    ends[1:] |= way[1:] != way[:-1]
    ends[:-1] |= way[1:] != way[:-1]
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    cut = ends | (counts[inverse] >= 2)
    cut_at = np.flatnonzero(cut)
    a, b = cut_at[:-1], cut_at[1:]
    same_way = way[a] == way[b]
    a, b = a[same_way], b[same_way]
    # Graph nodes: the distinct junction points, numbered densely.
    junction_keys = np.unique(inverse[cut_at])
    node_index = np.full(len(unique), -1, dtype=np.int64)
    node_index[junction_keys] = np.arange(len(junction_keys))
    first_point = np.zeros(len(unique), dtype=np.intp)
    first_point[inverse[::-1]] = np.arange(len(inverse))[::-1]
    node_lonlat = lonlat[first_point[junction_keys]]
    frm, to = node_index[inverse[a]], node_index[inverse[b]]
    speed = np.array(collector.speed_kmh)[way[a]]
    oneway = np.array(collector.oneway)[way[a]]
    seconds = (along[b] - along[a]) / speed * 3600
    forward = oneway >= 0
    backward = oneway <= 0
    edges = np.concatenate(
        (
            np.column_stack((frm[forward], to[forward], seconds[forward])),
            np.column_stack((to[backward], frm[backward], seconds[backward])),
        )
    )
    return RoadGraph.from_edges(node_lonlat[:, 1], node_lonlat[:, 0], edges)


def street_labels(collector: _Collector, ways: _Ways) -> list[MapLabel]:
    """One label per street name per 1 km square, at the middle of its longest piece there."""
    starts = np.searchsorted(ways.way_of_point, np.arange(len(collector.wkb)))
    stops = np.append(starts[1:], len(ways.way_of_point))
    best: dict[tuple[str, int, int], tuple[float, tuple[float, float]]] = {}
    for i, name in enumerate(collector.names):
        if not name or stops[i] <= starts[i]:
            continue
        length = float(ways.along_km[stops[i] - 1] - ways.along_km[starts[i]])
        lon, lat = ways.lonlat[(starts[i] + stops[i]) // 2]
        key = (name, round(lat * 90), round(lon * 45))
        if key not in best or best[key][0] < length:
            best[key] = (length, (float(lat), float(lon)))
    return [
        MapLabel("street", name, mid[0], mid[1], 5 + (0 if length > 0.5 else 1), 2)
        for (name, _, _), (length, mid) in sorted(best.items(), key=lambda kv: -kv[1][0])
    ]


def _km2(polygon: Any) -> float:
    c = polygon.centroid
    return float(polygon.area) * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(c.y)) * KM_PER_DEG_LAT


def simplify_levels(lines: dict[str, list[Any]], areas: list[tuple[str, Any]]) -> tuple[tuple[MapLine, ...], ...]:
    """Each detail level's lines: its kinds only, pieces that meet end to end merged (a street mapped as twenty
    ways simplifies as one line), then simplified to the level's tolerance (metres, in degrees of latitude).
    `lines` holds shapely line strings in lon/lat by kind."""
    import shapely

    levels: list[tuple[MapLine, ...]] = []
    for li, level in enumerate(DETAIL_LEVELS):
        tolerance = level.tolerance_m / 1000 / KM_PER_DEG_LAT
        kept: list[MapLine] = []
        for kind in sorted(level.kinds):
            parts = list(lines.get(kind, []))
            parts += [p.boundary for k, p in areas if k == kind and _km2(p) >= MIN_AREA_KM2[li]]
            if not parts:
                continue
            merged = shapely.line_merge(shapely.multilinestrings(shapely.get_parts(parts)))
            simple = shapely.simplify(shapely.get_parts(merged), tolerance, preserve_topology=False)
            for part in simple:
                if part.is_empty or shapely.length(part) < tolerance:
                    continue
                coords = shapely.get_coordinates(part)
                if len(coords) >= 2:
                    kept.append(MapLine(kind, tuple((float(lat), float(lon)) for lon, lat in coords)))
        levels.append(tuple(kept))
    return tuple(levels)


def read_extract(path: Path, progress: Progress | None = None) -> ExtractedMap:
    """The base layer, road graph and address points of one extract; a file osmium cannot read is refused
    naming it (exit 2)."""
    import osmium
    from osmium.geom import WKBFactory

    _check_file(path)
    report = progress or (lambda _label, _done, _total: None)
    total = 4
    report("reading ways and areas", 0, total)
    try:
        collector = _Collector()
        factory = WKBFactory()
        processor: Any = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas()
            .with_filter(osmium.filter.EmptyTagFilter())
            .with_filter(
                osmium.filter.KeyFilter(
                    "highway",
                    "railway",
                    "natural",
                    "waterway",
                    "leisure",
                    "landuse",
                    "place",
                    "water",
                    "addr:housenumber",
                )
            )
        )
        for obj in processor:
            if obj.is_node():
                collector.node(obj)
            elif obj.is_way():
                collector.way(obj, factory)
            elif obj.is_area():
                collector.area(obj, factory)
    except RuntimeError as exc:
        raise InvalidInput(f"not a readable OpenStreetMap extract ({exc})", record=str(path)) from None
    if not collector.wkb and not collector.labels and not collector.areas:
        raise InvalidInput("the extract holds no roads, water, rail or places", record=str(path))
    report("building the road graph", 1, total)
    ways = _ways(collector)
    graph = road_graph(collector, ways)
    report("simplifying lines", 2, total)
    by_kind: dict[str, list[Any]] = {}
    for geom, kind in zip(ways.geoms, collector.kinds, strict=True):
        if kind:
            by_kind.setdefault(kind, []).append(geom)
    levels = simplify_levels(by_kind, collector.areas)
    labels = tuple(sorted([*collector.labels, *street_labels(collector, ways)], key=lambda lb: (lb.rank, lb.name)))
    report("labelling", 3, total)
    lons = [*ways.lonlat[:, 0].tolist(), *(p[1] for p in collector.place_points)]
    lats = [*ways.lonlat[:, 1].tolist(), *(p[0] for p in collector.place_points)]
    lons += [a.lon for a in collector.addresses]
    lats += [a.lat for a in collector.addresses]
    for _, polygon in collector.areas:
        west, south, east, north = polygon.bounds
        lons += [west, east]
        lats += [south, north]
    layer = BaseLayer((min(lats), min(lons), max(lats), max(lons)), levels, labels, OSM_ATTRIBUTION, path.name)
    report("done", total, total)
    return ExtractedMap(layer, graph, tuple(collector.addresses))
