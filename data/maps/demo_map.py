"""The demo company's map, derived from real data by scripts/build_demo_map.py and shipped beside this file.

See demo/README.md for the sources and their licences (OpenStreetMap, ODbL; GSHHG, LGPL).
"""

from __future__ import annotations

from pathlib import Path

from data.maps.layer import BaseLayer, decode_layer
from optimizer.road_travel import RoadGraph

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_LAYER = DEMO_DIR / "helsinki.layer.gz"
DEMO_GRAPH = DEMO_DIR / "helsinki.graph.npz"
# The road graph covers central Helsinki only, so only the branch that works there routes on it.
DEMO_GRAPH_BRANCHES = ("HEL-C",)


def demo_layer() -> BaseLayer:
    return decode_layer(DEMO_LAYER.read_bytes(), record=str(DEMO_LAYER))


def demo_graph() -> RoadGraph:
    return RoadGraph.from_bytes(DEMO_GRAPH.read_bytes())
