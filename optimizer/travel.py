"""Travel-time providers: a protocol plus haversine, explicit-matrix and OSRM implementations.

The solver asks once per solve for a full seconds matrix over every distinct location; providers are
picklable so territories can be solved in worker processes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from optimizer.errors import ProblemError, TravelError
from optimizer.model import Location

if TYPE_CHECKING:
    import httpx

EARTH_RADIUS_KM = 6371.0088


@runtime_checkable
class TravelProvider(Protocol):
    """Anything that turns locations into a square matrix of integer driving seconds."""

    def matrix(self, locations: Sequence[Location]) -> list[list[int]]: ...

    def describe(self) -> dict[str, object]:
        """A JSON-able description so a problem file can name its provider."""
        ...


def haversine_km(a: Location, b: Location) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class HaversineTravel:
    """Great-circle distance times a road factor at a constant speed: no network, good for tests and demos."""

    def __init__(self, road_factor: float = 1.3, speed_kmh: float = 40.0) -> None:
        if road_factor <= 0 or speed_kmh <= 0:
            raise ProblemError("haversine travel needs road_factor > 0 and speed_kmh > 0", field="travel")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def seconds(self, a: Location, b: Location) -> int:
        return round(haversine_km(a, b) * self.road_factor / self.speed_kmh * 3600)

    def matrix(self, locations: Sequence[Location]) -> list[list[int]]:
        # Symmetric: compute the upper triangle once (1,000+ locations is a few million trig calls otherwise).
        # Same great-circle distance via the 3-D chord (2R asin(chord/2)): no trig inside the loop.
        n = len(locations)
        xyz = []
        for p in locations:
            lat, lon = math.radians(p.lat), math.radians(p.lon)
            xyz.append((math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)))
        factor = 2 * EARTH_RADIUS_KM * self.road_factor / self.speed_kmh * 3600
        out = [[0] * n for _ in range(n)]
        asin, sqrt = math.asin, math.sqrt
        for i in range(n):
            x1, y1, z1 = xyz[i]
            row = out[i]
            for j in range(i + 1, n):
                x2, y2, z2 = xyz[j]
                chord = sqrt((x1 - x2) ** 2 + (y1 - y2) ** 2 + (z1 - z2) ** 2)
                value = round(factor * asin(min(1.0, chord / 2)))
                row[j] = value
                out[j][i] = value
        return out

    def describe(self) -> dict[str, object]:
        return {"kind": "haversine", "road_factor": self.road_factor, "speed_kmh": self.speed_kmh}


class MatrixTravel:
    """An explicit matrix over known locations (e.g. exported from a routing engine or a test fixture)."""

    def __init__(self, locations: Sequence[Location], seconds: Sequence[Sequence[int]]) -> None:
        n = len(locations)
        if len(seconds) != n or any(len(row) != n for row in seconds):
            raise ProblemError(f"travel matrix must be {n}x{n} for {n} locations", field="travel.seconds")
        if any(s < 0 for row in seconds for s in row):
            raise ProblemError("travel matrix holds a negative duration", field="travel.seconds")
        self.locations = list(locations)
        self.seconds = [list(map(int, row)) for row in seconds]
        self._index = {loc: i for i, loc in enumerate(self.locations)}

    def matrix(self, locations: Sequence[Location]) -> list[list[int]]:
        try:
            idx = [self._index[loc] for loc in locations]
        except KeyError as exc:
            raise TravelError(f"location {exc.args[0]} is not in the explicit travel matrix") from None
        return [[self.seconds[i][j] for j in idx] for i in idx]

    def describe(self) -> dict[str, object]:
        return {
            "kind": "matrix",
            "locations": [{"lat": loc.lat, "lon": loc.lon} for loc in self.locations],
            "seconds": self.seconds,
        }


class OsrmTravel:
    """An OSRM-compatible ``/table`` service, with an in-memory and optional on-disk cache.

    Results are cached per exact location list (the common case: the same day re-planned many times).
    """

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        cache_dir: Path | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.cache_dir = cache_dir
        self.timeout = timeout
        self._transport = transport
        self._memory: dict[str, list[list[int]]] = {}
        self.requests_made = 0

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_transport"] = None  # transports hold sockets; workers make their own
        return state

    def _key(self, locations: Sequence[Location]) -> str:
        raw = f"{self.base_url}|{self.profile}|" + ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in locations)
        return hashlib.sha256(raw.encode()).hexdigest()

    def matrix(self, locations: Sequence[Location]) -> list[list[int]]:
        if not locations:
            return []
        key = self._key(locations)
        if key in self._memory:
            return self._memory[key]
        disk = self.cache_dir / f"osrm-{key}.json" if self.cache_dir is not None else None
        if disk is not None and disk.exists():
            result = json.loads(disk.read_text())
            self._memory[key] = result
            return result
        result = self._fetch(locations)
        self._memory[key] = result
        if disk is not None:
            disk.parent.mkdir(parents=True, exist_ok=True)
            tmp = disk.with_suffix(".tmp")
            tmp.write_text(json.dumps(result))
            tmp.replace(disk)
        return result

    def _fetch(self, locations: Sequence[Location]) -> list[list[int]]:
        import httpx  # imported on first use: it is slow to import and most solves never need it

        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in locations)
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}"
        self.requests_made += 1
        try:
            with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                response = client.get(url, params={"annotations": "duration"})
        except httpx.TimeoutException as exc:
            raise TravelError(f"OSRM at {self.base_url} timed out after {self.timeout:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise TravelError(f"OSRM at {self.base_url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise TravelError(f"OSRM at {self.base_url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise TravelError(f"OSRM at {self.base_url} returned non-JSON") from exc
        if body.get("code") != "Ok":
            raise TravelError(f"OSRM error {body.get('code')}: {body.get('message', '')}")
        durations = body.get("durations")
        n = len(locations)
        if not isinstance(durations, list) or len(durations) != n or any(len(r) != n for r in durations):
            raise TravelError(f"OSRM returned a malformed durations table (expected {n}x{n})")
        out: list[list[int]] = []
        for i, row in enumerate(durations):
            if any(v is None for v in row):
                j = row.index(None)
                raise TravelError(
                    f"OSRM found no route between location {i} and {j} ({locations[i]} -> {locations[j]})"
                )
            out.append([round(float(v)) for v in row])
        return out

    def describe(self) -> dict[str, object]:
        return {"kind": "osrm", "base_url": self.base_url, "profile": self.profile}


def provider_from_config(config: dict[str, object]) -> TravelProvider:
    """Build a provider from the ``travel`` object of a problem file (already schema-validated)."""
    kind = config.get("kind", "haversine")
    if kind == "haversine":
        return HaversineTravel(float(config.get("road_factor", 1.3)), float(config.get("speed_kmh", 40.0)))  # type: ignore[arg-type]
    if kind == "matrix":
        raw_locations: list[dict[str, float]] = config["locations"]  # type: ignore[assignment]
        locs = [Location(float(p["lat"]), float(p["lon"])) for p in raw_locations]
        return MatrixTravel(locs, config["seconds"])  # type: ignore[arg-type]
    if kind == "osrm":
        cache = config.get("cache_dir")
        return OsrmTravel(
            str(config["base_url"]),
            str(config.get("profile", "driving")),
            Path(str(cache)) if cache else None,
            float(config.get("timeout", 10.0)),  # type: ignore[arg-type]
        )
    raise ProblemError(f"travel.kind {kind!r} is not one of haversine, matrix, osrm", field="travel.kind")
