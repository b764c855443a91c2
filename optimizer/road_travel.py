"""Street-level travel: a directed road graph (seconds per edge) and the provider that routes on it.

The graph is plain arrays, so it pickles to territory workers and packs into one database blob. Shortest paths
come from scipy's sparse-graph Dijkstra, one run per distinct source; a location farther from the graph than
`max_snap_km` (or on a piece of road cut off from the rest) is outside it and falls back to the straight-line
model, which `coverage` reports.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from optimizer.errors import TravelError
from optimizer.model import Location
from optimizer.travel import HaversineTravel, MatrixTravel, TravelProvider

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
ROW_BUDGET_BYTES = 64 * 1024 * 1024  # Dijkstra rows held at once (each row is 8 bytes per graph node)
MARGIN_KM = 3.0  # the least widening of the searched box around a day's stops


@dataclass
class RoadGraph:
    """Nodes (WGS84) and directed edges with driving seconds; build with `from_edges` so duplicates keep the fastest."""

    node_lat: NDArray[np.float64]
    node_lon: NDArray[np.float64]
    edge_from: NDArray[np.int32]
    edge_to: NDArray[np.int32]
    edge_seconds: NDArray[np.float32]
    _csgraph: Any = field(default=None, init=False, repr=False, compare=False)
    _tree: Any = field(default=None, init=False, repr=False, compare=False)
    _snappable: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_edges(
        cls,
        node_lat: Sequence[float] | NDArray[np.float64],
        node_lon: Sequence[float] | NDArray[np.float64],
        edges: Sequence[tuple[int, int, float]] | NDArray[np.float64],
    ) -> RoadGraph:
        lat = np.asarray(node_lat, dtype=np.float64)
        lon = np.asarray(node_lon, dtype=np.float64)
        arr = np.asarray(edges, dtype=np.float64).reshape(-1, 3)
        frm, to, sec = arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.float32)
        keep = frm != to
        frm, to, sec = frm[keep], to[keep], np.maximum(sec[keep], np.float32(0.1))  # zero weights vanish in CSR
        order = np.lexsort((sec, to, frm))
        frm, to, sec = frm[order], to[order], sec[order]
        first = np.ones(len(frm), dtype=bool)
        first[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
        return cls(lat, lon, frm[first], to[first], sec[first])

    @property
    def node_count(self) -> int:
        return len(self.node_lat)

    @property
    def edge_count(self) -> int:
        return len(self.edge_from)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            node_lat=self.node_lat,
            node_lon=self.node_lon,
            edge_from=self.edge_from,
            edge_to=self.edge_to,
            edge_seconds=self.edge_seconds,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> RoadGraph:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                return cls(z["node_lat"], z["node_lon"], z["edge_from"], z["edge_to"], z["edge_seconds"])
        except (OSError, KeyError, ValueError) as exc:
            raise TravelError(f"the stored road graph cannot be read ({exc})") from None

    def csgraph(self) -> Any:
        if self._csgraph is None:
            from scipy.sparse import csr_matrix

            n = self.node_count
            self._csgraph = csr_matrix((self.edge_seconds.astype(np.float64), (self.edge_from, self.edge_to)), (n, n))
        return self._csgraph

    def _projected(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
        kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(float(np.mean(self.node_lat))))
        return np.column_stack((lon * kx, lat * KM_PER_DEG_LAT))

    def snap(self, locations: Sequence[Location]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The nearest routable node of each location and the straight-line km to it (inf: no graph)."""
        if self.node_count == 0 or not locations:
            return np.zeros(len(locations), dtype=np.intp), np.full(len(locations), np.inf)
        if self._tree is None:
            from scipy.sparse.csgraph import connected_components
            from scipy.spatial import cKDTree

            # Only the largest strongly connected piece: a node there reaches, and is reached from, every other.
            _, labels = connected_components(self.csgraph(), directed=True, connection="strong")
            biggest = np.bincount(labels).argmax()
            self._snappable = np.flatnonzero(labels == biggest)
            self._tree = cKDTree(self._projected(self.node_lat[self._snappable], self.node_lon[self._snappable]))
        lat = np.array([p.lat for p in locations], dtype=np.float64)
        lon = np.array([p.lon for p in locations], dtype=np.float64)
        dist, idx = self._tree.query(self._projected(lat, lon))
        return self._snappable[idx], np.asarray(dist, dtype=np.float64)

    def seconds_between(
        self, sources: NDArray[np.intp], targets: NDArray[np.intp], *, reverse: bool = False
    ) -> NDArray[np.float64]:
        """Shortest driving seconds from each source node to each target node (inf where none exists); with
        `reverse`, from each target to each source (one search per source on the reversed graph).

        The search runs on the part of the graph around the nodes asked about (their bounding box widened by
        a quarter of its size and at least `MARGIN_KM`): a regional graph is many times a day's area, and a
        shortest path between two of its stops that leaves that box is rare and never much shorter.
        """
        from scipy.sparse.csgraph import dijkstra

        graph, local = self._around(np.concatenate((sources, targets)))
        whole = self.csgraph()
        if reverse:
            graph, whole = graph.T.tocsr(), whole.T.tocsr()
        unique_sources, inverse = np.unique(local[: len(sources)], return_inverse=True)
        local_targets = local[len(sources) :]
        out = np.empty((len(unique_sources), len(targets)), dtype=np.float64)
        chunk = max(1, ROW_BUDGET_BYTES // (8 * max(graph.shape[0], 1)))
        for start in range(0, len(unique_sources), chunk):
            rows = dijkstra(graph, directed=True, indices=unique_sources[start : start + chunk])
            out[start : start + chunk] = np.atleast_2d(rows)[:, local_targets]
        cut_off = ~np.isfinite(out).all(axis=1)
        if cut_off.any() and graph.shape != whole.shape:
            # Round a deep bay the way out may leave the box: those sources search the whole graph.
            full_sources = np.unique(sources)[cut_off]
            rows = dijkstra(whole, directed=True, indices=full_sources)
            out[cut_off] = np.atleast_2d(rows)[:, targets]
        return out[inverse]

    def _around(self, nodes: NDArray[np.intp]) -> tuple[Any, NDArray[np.intp]]:
        """The subgraph inside the widened bounding box of `nodes`, and their numbers in it."""
        lat, lon = self.node_lat[nodes], self.node_lon[nodes]
        kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(float(lat.mean())))
        pad_lat = max(float(np.ptp(lat)) * 0.25, MARGIN_KM / KM_PER_DEG_LAT)
        pad_lon = max(float(np.ptp(lon)) * 0.25, MARGIN_KM / kx)
        inside = (
            (self.node_lat >= lat.min() - pad_lat)
            & (self.node_lat <= lat.max() + pad_lat)
            & (self.node_lon >= lon.min() - pad_lon)
            & (self.node_lon <= lon.max() + pad_lon)
        )
        if inside.all():
            return self.csgraph(), nodes
        from scipy.sparse import csr_matrix

        number = np.cumsum(inside) - 1
        keep = inside[self.edge_from] & inside[self.edge_to]
        n = int(inside.sum())
        sub = csr_matrix(
            (self.edge_seconds[keep].astype(np.float64), (number[self.edge_from[keep]], number[self.edge_to[keep]])),
            (n, n),
        )
        return sub, number[nodes]


@dataclass(frozen=True)
class Coverage:
    """How much of the last matrix came from the roads: `outside` locations used the fallback."""

    locations: int
    outside: int

    def summary(self) -> str:
        if self.outside == 0:
            return f"road travel for all {self.locations} locations"
        return (
            f"road travel for {self.locations - self.outside} of {self.locations} locations; "
            f"{self.outside} outside the road graph use straight-line travel"
        )


class RoadTravel:
    """Travel seconds along the road graph, falling back to `fallback` for a location the graph does not cover.

    A location off the road (a yard, a courtyard) reaches its nearest node at `access_kmh` in a straight line.
    Results are cached per exact location list, so the planner, its validator and the suggestions agree to the
    second on every re-plan of the same day.
    """

    def __init__(
        self,
        graph: RoadGraph,
        fallback: TravelProvider | None = None,
        *,
        max_snap_km: float = 0.5,
        access_kmh: float = 15.0,
    ) -> None:
        self.graph = graph
        self.fallback = fallback if fallback is not None else HaversineTravel()
        self.max_snap_km = max_snap_km
        self.access_kmh = access_kmh
        self.coverage = Coverage(0, 0)
        self._cache: dict[tuple[Location, ...], list[list[int]]] = {}
        self._last: tuple[list[Location], list[list[int]]] | None = None
        # Road seconds between every graph node asked about so far: a suggestion that adds one stop to the day
        # costs two searches (from it, and to it on the reversed graph), not one per stop.
        self._known = np.zeros(0, dtype=np.intp)
        self._table = np.zeros((0, 0))

    def matrix(self, locations: Sequence[Location]) -> list[list[int]]:
        key = tuple(locations)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._compute(list(locations))
            self._cache[key] = cached
        self._last = (list(locations), cached)
        return cached

    def _compute(self, locations: list[Location]) -> list[list[int]]:
        n = len(locations)
        if n == 0:
            self.coverage = Coverage(0, 0)
            return []
        nodes, snap_km = self.graph.snap(locations)
        inside = np.flatnonzero(snap_km <= self.max_snap_km)
        self.coverage = Coverage(n, n - len(inside))
        result = np.array(self.fallback.matrix(locations), dtype=np.float64) if len(inside) < n else np.zeros((n, n))
        if len(inside):
            access = snap_km[inside] / self.access_kmh * 3600
            road = self._road_seconds(nodes[inside])
            road = road + access[:, None] + access[None, :]
            # A pair the roads cannot join (a one-way trap) keeps the fallback's figure rather than infinity.
            straight = result[np.ix_(inside, inside)] if len(inside) < n else None
            if straight is None and not np.isfinite(road).all():
                straight = np.array(self.fallback.matrix([locations[i] for i in inside]), dtype=np.float64)
            if straight is not None:
                road = np.where(np.isfinite(road), road, straight)
            result[np.ix_(inside, inside)] = road
        np.fill_diagonal(result, 0)
        return np.rint(result).astype(np.int64).tolist()

    def _road_seconds(self, nodes: NDArray[np.intp]) -> NDArray[np.float64]:
        new = np.setdiff1d(np.unique(nodes), self._known)
        if len(new):
            old = self._known
            grown = np.concatenate((old, new))
            table = np.empty((len(grown), len(grown)))
            table[: len(old), : len(old)] = self._table
            table[len(old) :, :] = self.graph.seconds_between(new, grown)
            if len(old):
                table[: len(old), len(old) :] = self.graph.seconds_between(new, old, reverse=True).T
            self._known, self._table = grown, table
        order = np.argsort(self._known)
        at = order[np.searchsorted(self._known, nodes, sorter=order)]
        return self._table[np.ix_(at, at)]

    def describe(self) -> dict[str, object]:
        """The last matrix as an explicit one, so a problem file written from a road-planned day replans the same."""
        if self._last is None:
            return self.fallback.describe()
        locations, seconds = self._last
        return MatrixTravel(locations, seconds).describe()
