"""Road travel on a graph read from a real (small, written here) extract: paths, one-ways, the bay, the fallback."""

from __future__ import annotations

import itertools
import math
import pickle
from pathlib import Path

import pytest

from data.maps.osm_extract import read_extract
from optimizer.model import Location
from optimizer.road_travel import RoadGraph, RoadTravel
from optimizer.travel import HaversineTravel
from tests.maps.extract import EAST_SHORE, NORTH_END, WEST_SHORE, write_bay_extract


@pytest.fixture(scope="module")
def bay_graph(tmp_path_factory: pytest.TempPathFactory) -> RoadGraph:
    path = write_bay_extract(tmp_path_factory.mktemp("osm") / "bay.osm.pbf")
    return read_extract(path).graph


def _km_along(*points: tuple[float, float]) -> float:
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
        kx = 111.320 * math.cos(math.radians((lat1 + lat2) / 2))
        total += math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * 110.574)
    return total


def test_a_job_across_the_bay_is_far_by_road(bay_graph: RoadGraph) -> None:
    west, east = Location(*WEST_SHORE), Location(*EAST_SHORE)
    road = RoadTravel(bay_graph).matrix([west, east])
    straight = HaversineTravel().matrix([west, east])
    # Hand-computed: 3.317 km south, 1.108 km east, 3.317 km north, at the residential 30 km/h.
    expected = _km_along(WEST_SHORE, (60.14, 24.93), (60.14, 24.95), EAST_SHORE) / 30 * 3600
    assert road[0][1] == pytest.approx(expected, abs=1)
    assert road[0][1] > 6 * straight[0][1]


def test_one_way_street_is_routed_only_forwards(bay_graph: RoadGraph) -> None:
    east, north = Location(*EAST_SHORE), Location(*NORTH_END)
    seconds = RoadTravel(bay_graph).matrix([east, north])
    assert seconds[0][1] == pytest.approx(_km_along(EAST_SHORE, NORTH_END) / 50 * 3600, abs=1)  # maxspeed 50
    # Back against the one-way means Paluutie to the west shore (tertiary, 40 km/h) and round the bay.
    back = _km_along(NORTH_END, WEST_SHORE) / 40 * 3600 + seconds_across(bay_graph)
    assert seconds[1][0] == pytest.approx(back, abs=1)


def seconds_across(graph: RoadGraph) -> int:
    return RoadTravel(graph).matrix([Location(*WEST_SHORE), Location(*EAST_SHORE)])[0][1]


def test_outside_the_graph_falls_back_to_straight_line_and_says_so(bay_graph: RoadGraph) -> None:
    west, far = Location(*WEST_SHORE), Location(60.45, 25.10)
    travel = RoadTravel(bay_graph)
    seconds = travel.matrix([west, far])
    assert seconds == HaversineTravel().matrix([west, far])
    assert travel.coverage.outside == 1
    assert "1 outside the road graph use straight-line travel" in travel.coverage.summary()


def test_graph_round_trips_through_bytes_and_pickle(bay_graph: RoadGraph) -> None:
    west, east = Location(*WEST_SHORE), Location(*EAST_SHORE)
    again = RoadGraph.from_bytes(bay_graph.to_bytes())
    assert RoadTravel(again).matrix([west, east]) == RoadTravel(bay_graph).matrix([west, east])
    travel = pickle.loads(pickle.dumps(RoadTravel(bay_graph)))
    assert travel.matrix([west, east]) == RoadTravel(bay_graph).matrix([west, east])


def test_describe_names_the_matrix_it_planned_with(bay_graph: RoadGraph) -> None:
    west, east = Location(*WEST_SHORE), Location(*EAST_SHORE)
    travel = RoadTravel(bay_graph)
    seconds = travel.matrix([west, east])
    described = travel.describe()
    assert described["kind"] == "matrix" and described["seconds"] == seconds


def test_a_file_that_is_not_an_extract_is_refused(tmp_path: Path) -> None:
    from data.errors import InvalidInput

    bad = tmp_path / "region.osm.pbf"
    bad.write_bytes(b"this is not protobuf")
    with pytest.raises(InvalidInput, match=r"region\.osm\.pbf: not a readable OpenStreetMap extract"):
        read_extract(bad)


def test_a_stop_added_to_the_day_gives_the_same_figures_as_a_fresh_matrix(bay_graph: RoadGraph) -> None:
    west, east, north = Location(*WEST_SHORE), Location(*EAST_SHORE), Location(*NORTH_END)
    travel = RoadTravel(bay_graph)
    travel.matrix([west, east])
    grown = travel.matrix([north, west, east])  # the new stop first: rows and columns both come from the table
    assert grown == RoadTravel(bay_graph).matrix([north, west, east])


def test_road_seconds_equal_a_plain_dijkstra_over_the_whole_graph_on_a_random_graph() -> None:
    """The reference any faster matrix must meet exactly: one full search per source, forwards and reversed."""
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(15)
    n = 600
    lat, lon = 60.15 + rng.random(n) * 0.05, 24.90 + rng.random(n) * 0.1
    # A ring through every node keeps it one piece; random chords, half of them one-way, make the short cuts.
    ring = [(i, (i + 1) % n, float(rng.uniform(5, 60))) for i in range(n)]
    chords = [(int(a), int(b), float(rng.uniform(5, 300))) for a, b in rng.integers(0, n, (3 * n, 2))]
    both = [(b, a, s * rng.uniform(0.8, 1.5)) for a, b, s in chords[: len(chords) // 2]]
    graph = RoadGraph.from_edges(lat, lon, ring + chords + both)
    sources, targets = rng.choice(n, 150, replace=False), rng.choice(n, 200, replace=False)
    whole = graph.csgraph()
    assert np.array_equal(graph.seconds_between(sources, targets), dijkstra(whole, indices=sources)[:, targets])
    backwards = dijkstra(whole.T.tocsr(), indices=sources)[:, targets]
    assert np.array_equal(graph.seconds_between(sources, targets, reverse=True), backwards)
