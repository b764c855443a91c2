"""Map benchmark: `read_extract` of an OpenStreetMap file (the work of `dispatch map import`) and the road-travel
matrix on its graph, with the figures printed and written to bench/results/map_import.json.

    ./dev run python bench/osm_region.py --km 68 --out /tmp/region.osm.pbf   # ~46 MB synthetic region
    ./dev run python bench/map_import.py /tmp/region.osm.pbf [--technicians 50 --jobs 400] [--locations 1000]

The matrix is asked for `technicians` + `jobs` random points in a 20 km square of the extract (a branch's day),
then for `--locations` points, each on a fresh provider (no cache), and once more to show the cached answer.
Wall and CPU seconds are both printed: on a shared machine the CPU time is the figure that carries over.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from data.maps.layer import encode_layer
from data.maps.osm_extract import read_extract
from optimizer.model import Location
from optimizer.road_travel import RoadTravel
from optimizer.travel import HaversineTravel

RESULTS = Path(__file__).parent / "results"


def day_locations(south: float, west: float, count: int, seed: int) -> list[Location]:
    rng = random.Random(seed)
    span_lat, span_lon = 20 / 110.574, 20 / 55.4  # about 20 km each way at 60° N
    return [Location(south + rng.random() * span_lat, west + rng.random() * span_lon) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("extract", type=Path)
    parser.add_argument("--technicians", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--locations", type=int, default=1000)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    extracted = read_extract(args.extract)
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    layer_bytes, graph_bytes = len(encode_layer(extracted.layer)), len(extracted.graph.to_bytes())
    south, west, north, east = extracted.layer.bounds
    cs, cw = (south + north) / 2 - 0.09, (west + east) / 2 - 0.18
    figures: dict[str, object] = {
        "extract": str(args.extract),
        "extract_mb": round(args.extract.stat().st_size / 1e6, 1),
        "import_s": round(import_s, 1),
        "import_cpu_s": round(import_cpu, 1),
        "junctions": extracted.graph.node_count,
        "road_links": extracted.graph.edge_count,
        "layer_kb": round(layer_bytes / 1024),
        "graph_kb": round(graph_bytes / 1024),
    }
    for label, count in (
        (f"{args.technicians}x{args.jobs}", args.technicians + args.jobs),
        (str(args.locations), args.locations),
    ):
        points = day_locations(cs, cw, count, seed=count)
        travel = RoadTravel(extracted.graph)
        started, cpu = time.perf_counter(), time.process_time()
        seconds = travel.matrix(points)
        figures[f"matrix_{label}_s"] = round(time.perf_counter() - started, 2)
        figures[f"matrix_{label}_cpu_s"] = round(time.process_time() - cpu, 2)
        started = time.perf_counter()
        travel.matrix(points)
        figures[f"matrix_{label}_cached_s"] = round(time.perf_counter() - started, 4)
        straight = HaversineTravel().matrix(points)
        ratio = sum(map(sum, seconds)) / max(1, sum(map(sum, straight)))
        figures[f"matrix_{label}_road_over_straight"] = round(ratio, 2)
        figures[f"matrix_{label}_coverage"] = travel.coverage.summary()
    figures["load_average_before"] = round(load_before, 2)
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "map_import.json").write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
