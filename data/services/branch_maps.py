"""Storing an imported map for a branch: its base layer, road graph and address points, replaced whole in one
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.maps.addresses import AddressPoint, encode_addresses
from data.maps.layer import BaseLayer, encode_layer
from data.models.base import utcnow
from data.models.maps import BranchMap
from data.models.org import Branch
from data.uow import UnitOfWork
from optimizer.road_travel import RoadGraph


@dataclass(frozen=True)
class StoredMap:
    branch: str
    source: str
    layer_bytes: int
    graph_bytes: int
    road_nodes: int
    road_edges: int
    addresses: int = 0


def _target_branch(uow: UnitOfWork, code: str | None, layer: BaseLayer) -> Branch:
    branches = list(uow.session.scalars(select(Branch).order_by(Branch.code)))
    if code is not None:
        for branch in branches:
            if branch.code == code:
                return branch
        known = ", ".join(b.code for b in branches) or "none"
        raise InvalidInput(f"unknown branch '{code}' (known: {known})", record="map import", field="branch")
    south, west, north, east = layer.bounds
    inside = [b for b in branches if south <= b.depot_lat <= north and west <= b.depot_lon <= east]
    if len(inside) == 1:
        return inside[0]
    which = "no branch's depot lies" if not inside else f"{len(inside)} branches' depots lie"
    raise InvalidInput(f"{which} inside the extract: name one with --branch", record="map import", field="branch")


def store_branch_map(
    db: Database,
    actor: Actor,
    branch_code: str | None,
    layer: BaseLayer,
    graph: RoadGraph | None,
    addresses: tuple[AddressPoint, ...] = (),
) -> StoredMap:
    """Keep `layer` (and `graph` and `addresses`, if any) as the branch's map; without a code, the branch whose
    depot it covers."""
    actor.require_admin("import maps")
    with UnitOfWork(db, actor) as uow:
        return store_branch_map_in(uow, branch_code, layer, graph, addresses=addresses)


def store_branch_map_in(
    uow: UnitOfWork,
    branch_code: str | None,
    layer: BaseLayer,
    graph: RoadGraph | None,
    at: datetime | None = None,
    addresses: tuple[AddressPoint, ...] = (),
) -> StoredMap:
    """`store_branch_map` inside an open unit of work (the demo builder stores its shipped map this way)."""
    uow.actor.require_admin("import maps")
    layer_blob = encode_layer(layer)
    graph_blob = graph.to_bytes() if graph is not None and graph.edge_count else None
    branch = _target_branch(uow, branch_code, layer)
    row = uow.session.get(BranchMap, branch.id)
    if row is None:
        row = BranchMap(branch_id=branch.id)
        uow.session.add(row)
    south, west, north, east = layer.bounds
    row.source, row.attribution = layer.source[:255], layer.attribution[:255]
    row.south, row.west, row.north, row.east = south, west, north, east
    row.layer, row.road_graph = layer_blob, graph_blob
    row.addresses = encode_addresses(addresses) if addresses else None
    row.address_count = len(addresses)
    row.road_nodes = graph.node_count if graph is not None and graph_blob else 0
    row.road_edges = graph.edge_count if graph is not None and graph_blob else 0
    row.imported_at = at or utcnow()
    stored = StoredMap(
        branch.code,
        row.source,
        len(layer_blob),
        len(graph_blob or b""),
        row.road_nodes,
        row.road_edges,
        len(addresses),
    )
    uow.emit(
        "branch.map_imported",
        "branch",
        branch.id,
        {
            "code": branch.code,
            "source": row.source,
            "bounds": [south, west, north, east],
            "road_nodes": stored.road_nodes,
            "road_edges": stored.road_edges,
            "addresses": stored.addresses,
        },
    )
    return stored
