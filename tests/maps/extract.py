"""Small OpenStreetMap extracts written with pyosmium for the map and road-travel tests.

The bay: a residential road, Lahdentie, runs from the west shore 3.3 km south round the head of the bay and
3.3 km back north to the east shore, while the two shores are 1.1 km apart across the water. From the east
shore the one-way Rantatie goes north, and Paluutie comes back to the west shore both ways. With `addressed`, two
buildings carry addresses (Lahdentie 5 on the west shore, Rantatie 12 A up the east shore) and one entrance node
carries a third.
"""

from __future__ import annotations

from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Way

WEST_SHORE = (60.17, 24.93)
EAST_SHORE = (60.17, 24.95)
BAY_HEAD_WEST = (60.14, 24.93)
BAY_HEAD_EAST = (60.14, 24.95)
NORTH_END = (60.18, 24.95)


LAHDENTIE_5 = (60.1701, 24.9312)  # the building's centroid
RANTATIE_12A = (60.1751, 24.9502)
PALUUTIE_3 = (60.1790, 24.9400)  # an address on a node


def _square(centre: tuple[float, float]) -> list[tuple[float, float]]:
    lat, lon = centre
    return [(lat - 1e-4, lon - 2e-4), (lat - 1e-4, lon + 2e-4), (lat + 1e-4, lon + 2e-4), (lat + 1e-4, lon - 2e-4)]


def write_bay_extract(path: Path, *, addressed: bool = False) -> Path:
    nodes = {
        1: WEST_SHORE,
        2: BAY_HEAD_WEST,
        3: BAY_HEAD_EAST,
        4: EAST_SHORE,
        5: NORTH_END,
        6: (60.14, 24.92),  # a side street at the head of the bay makes a junction 3.3 km from both shores
        # the shore of the bay
        10: (60.172, 24.932),
        11: (60.142, 24.933),
        12: (60.142, 24.947),
        13: (60.172, 24.948),
        # a park
        20: (60.175, 24.925),
        21: (60.175, 24.928),
        22: (60.177, 24.928),
        23: (60.177, 24.925),
    }
    ways = [
        (1, [1, 2, 3, 4], {"highway": "residential", "name": "Lahdentie"}),
        (2, [4, 5], {"highway": "primary", "name": "Rantatie", "oneway": "yes", "maxspeed": "50"}),
        (3, [10, 11, 12, 13], {"natural": "coastline"}),
        (5, [5, 1], {"highway": "tertiary", "name": "Paluutie"}),
        (6, [2, 6], {"highway": "residential", "name": "Pohjukka"}),
        (4, [20, 21, 22, 23, 20], {"leisure": "park", "name": "Puisto"}),
    ]
    with osmium.SimpleWriter(str(path)) as writer:
        for node_id, (lat, lon) in sorted(nodes.items()):
            writer.add_node(Node(id=node_id, location=(lon, lat), version=1, tags={}))
        writer.add_node(Node(id=100, location=(24.94, 60.16), version=1, tags={"place": "suburb", "name": "Testilä"}))
        buildings = []
        if addressed:
            entrance = {"addr:street": "Paluutie", "addr:housenumber": "3", "entrance": "main"}
            writer.add_node(Node(id=150, location=(PALUUTIE_3[1], PALUUTIE_3[0]), version=1, tags=entrance))
            for first, centre, street, number, postcode in (
                (200, LAHDENTIE_5, "Lahdentie", "5", "00150"),
                (210, RANTATIE_12A, "Rantatie", "12 A", ""),
            ):
                for i, (lat, lon) in enumerate(_square(centre)):
                    writer.add_node(Node(id=first + i, location=(lon, lat), version=1, tags={}))
                tags = {"building": "yes", "addr:street": street, "addr:housenumber": number, "addr:city": "Helsinki"}
                if postcode:
                    tags["addr:postcode"] = postcode
                buildings.append((first, [first, first + 1, first + 2, first + 3, first], tags))
        for way_id, refs, tags in sorted([*ways, *buildings], key=lambda w: w[0]):
            writer.add_way(Way(id=way_id, nodes=refs, version=1, tags=tags))
    return path
