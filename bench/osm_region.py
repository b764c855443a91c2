"""A synthetic regional OpenStreetMap extract for the map benchmarks, written offline with pyosmium.

A square town grid (a street every 100 m, a node every 25 m; every 10th street primary, every 5th secondary, every
7th one-way), a shore along its southern edge, parks, a few place nodes and many untagged building outlines, as a
real regional extract carries mostly buildings the importer reads past.
Coordinates carry a little noise, so the file packs like surveyed data.

    ./dev run python bench/osm_region.py --km 34 --out /tmp/region.osm.pbf
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Way

ORIGIN = (60.10, 24.50)
STREET_M = 100
NODE_M = 25


def write_region(path: Path, km: float) -> dict[str, int]:
    lat0, lon0 = ORIGIN
    dlat = NODE_M / 1000 / 110.574
    dlon = NODE_M / 1000 / (111.320 * math.cos(math.radians(lat0)))
    per_street = STREET_M // NODE_M
    n = int(km * 1000 / NODE_M) + 1  # grid points per side
    streets = range(0, n, per_street)
    node_id = way_id = 0
    counts = {"nodes": 0, "ways": 0}
    rng = random.Random(7)
    jitter = lambda: (rng.random() - 0.5) * 0.3  # noqa: E731 - surveyed points are never on a perfect grid
    path.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(path)) as writer:

        def grid_id(i: int, j: int) -> int:
            return i * n + j + 1

        for i in range(n):  # rows south to north; only street rows and columns carry road nodes
            on_row = i % per_street == 0
            for j in range(n):
                if on_row or j % per_street == 0:
                    writer.add_node(
                        Node(
                            id=grid_id(i, j),
                            location=(lon0 + (j + jitter()) * dlon, lat0 + (i + jitter()) * dlat),
                            version=1,
                        )
                    )
                    counts["nodes"] += 1
        node_id = n * n + 1
        building_nodes: list[list[int]] = []
        for bi in range(0, n - per_street, per_street):  # four buildings in each block
            for bj in range(0, n - per_street, per_street):
                for oi, oj in ((1, 1), (1, 2.2), (2.2, 1), (2.2, 2.2)):
                    la, lo = lat0 + (bi + oi) * dlat, lon0 + (bj + oj) * dlon
                    ring = []
                    for a, b in ((0, 0), (0, 0.8), (0.8, 0.8), (0.8, 0)):
                        writer.add_node(
                            Node(
                                id=node_id, location=(lo + (b + jitter()) * dlon, la + (a + jitter()) * dlat), version=1
                            )
                        )
                        ring.append(node_id)
                        node_id += 1
                    building_nodes.append([*ring, ring[0]])
        counts["nodes"] += node_id - n * n - 1
        for k, (lat, lon, name, place) in enumerate(
            ((0.5, 0.5, "Keskusta", "town"), (0.25, 0.25, "Länsi", "suburb"), (0.75, 0.75, "Itä", "suburb"))
        ):
            writer.add_node(
                Node(
                    id=node_id + k,
                    location=(lon0 + lon * (n - 1) * dlon, lat0 + lat * (n - 1) * dlat),
                    version=1,
                    tags={"place": place, "name": name},
                )
            )

        def road_tags(index: int, name: str) -> dict[str, str]:
            street = index // per_street
            highway = "primary" if street % 10 == 0 else "secondary" if street % 5 == 0 else "residential"
            tags = {"highway": highway, "name": name}
            if street % 7 == 3:
                tags["oneway"] = "yes"
            return tags

        chunk = 1000 // NODE_M  # one way per kilometre, as mappers split long roads
        for i in streets:
            for start in range(0, n - 1, chunk):
                way_id += 1
                refs = [grid_id(i, j) for j in range(start, min(n, start + chunk + 1))]
                writer.add_way(Way(id=way_id, nodes=refs, version=1, tags=road_tags(i, f"Katu {i // per_street}")))
        for j in streets:
            for start in range(0, n - 1, chunk):
                way_id += 1
                refs = [grid_id(i, j) for i in range(start, min(n, start + chunk + 1))]
                writer.add_way(Way(id=way_id, nodes=refs, version=1, tags=road_tags(j, f"Tie {j // per_street}")))
        way_id += 1
        writer.add_way(
            Way(id=way_id, nodes=[grid_id(0, j) for j in range(n)], version=1, tags={"natural": "coastline"})
        )
        for k, ring in enumerate(building_nodes):
            way_id += 1
            tags = {"leisure": "park"} if k % 97 == 0 else {"building": "yes"}
            writer.add_way(Way(id=way_id, nodes=ring, version=1, tags=tags))
        counts["ways"] = way_id
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--km", type=float, default=34.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/region.osm.pbf"))
    args = parser.parse_args()
    started = time.perf_counter()
    counts = write_region(args.out, args.km)
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.1f} MB, {counts['nodes']:,} nodes, {counts['ways']:,} ways, "
          f"written in {time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
