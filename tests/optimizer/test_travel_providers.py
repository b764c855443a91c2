"""Travel providers: haversine sanity, explicit matrices, and OSRM against fake servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from optimizer.errors import TravelError
from optimizer.model import Location
from optimizer.travel import HaversineTravel, MatrixTravel, OsrmTravel

A, B, C = Location(60.17, 24.94), Location(60.20, 24.94), Location(60.17, 25.00)


def test_haversine_is_symmetric_and_scaled() -> None:
    m = HaversineTravel(road_factor=1.0, speed_kmh=60).matrix([A, B])
    # 0.03 degrees of latitude is about 3.34 km: about 200 s at 60 km/h.
    assert m[0][0] == 0 and m[0][1] == m[1][0] and 195 <= m[0][1] <= 205


def test_matrix_travel_looks_up_by_location() -> None:
    provider = MatrixTravel([A, B, C], [[0, 10, 20], [11, 0, 30], [21, 31, 0]])
    assert provider.matrix([C, A]) == [[0, 21], [20, 0]]
    with pytest.raises(TravelError):
        provider.matrix([Location(0, 0)])


def fake_table(request: httpx.Request) -> httpx.Response:
    coords = request.url.path.rsplit("/", 1)[-1].split(";")
    n = len(coords)
    assert request.url.params["annotations"] == "duration"
    return httpx.Response(
        200, json={"code": "Ok", "durations": [[abs(i - j) * 100.4 for j in range(n)] for i in range(n)]}
    )


def test_osrm_parses_table_and_caches_in_memory_and_on_disk(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return fake_table(request)

    provider = OsrmTravel("http://osrm.test", "driving", cache_dir=tmp_path, transport=httpx.MockTransport(handler))
    assert provider.matrix([A, B, C]) == [[0, 100, 201], [100, 0, 100], [201, 100, 0]]
    assert "/table/v1/driving/24.940000,60.170000;24.940000,60.200000" in calls[0]
    provider.matrix([A, B, C])
    assert len(calls) == 1
    fresh = OsrmTravel("http://osrm.test", cache_dir=tmp_path, transport=httpx.MockTransport(handler))
    assert fresh.matrix([A, B, C])[0][2] == 201
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, text="boom"), "HTTP 500"),
        (httpx.Response(200, json={"code": "InvalidQuery", "message": "bad"}), "InvalidQuery"),
        (httpx.Response(200, json={"code": "Ok", "durations": [[0, None], [1, 0]]}), "no route"),
        (httpx.Response(200, json={"code": "Ok", "durations": [[0]]}), "malformed"),
    ],
)
def test_osrm_errors_are_clear(response: httpx.Response, message: str) -> None:
    provider = OsrmTravel("http://osrm.test", transport=httpx.MockTransport(lambda r: response))
    with pytest.raises(TravelError, match=message):
        provider.matrix([A, B])


def test_osrm_timeout_is_a_travel_error() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TravelError, match="timed out"):
        OsrmTravel("http://osrm.test", timeout=0.1, transport=httpx.MockTransport(slow)).matrix([A, B])


class _Table(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        coords = self.path.split("?")[0].rsplit("/", 1)[-1].split(";")
        n = len(coords)
        body = json.dumps({"code": "Ok", "durations": [[float(7 * abs(i - j)) for j in range(n)] for i in range(n)]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def osrm_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Table)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_over_a_real_socket(osrm_server: str) -> None:
    assert OsrmTravel(osrm_server).matrix([A, B, C]) == [[0, 7, 14], [7, 0, 7], [14, 7, 0]]


def test_osrm_unreachable_server_is_a_travel_error() -> None:
    with pytest.raises(TravelError, match="unreachable"):
        OsrmTravel("http://127.0.0.1:9", timeout=1).matrix([A, B])
