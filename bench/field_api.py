"""Field API benchmark: position pings per second through a real uvicorn server, on SQLite and PostgreSQL.

For each engine the bench creates a throw-away database, a branch with `--technicians` technicians and
a token each, starts `uvicorn` in a subprocess on 127.0.0.1, and lets `--clients` concurrent httpx
clients (each speaking for its own technician) POST single pings to /v1/positions for `--seconds`.
Every ping is one transaction: the position update plus its `technician.position` event.

    ./dev run python bench/field_api.py [--clients 16 --seconds 10 --workers 1]
Writes bench/results/field_api.json and prints req/s with p50/p95 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.actor import SYSTEM  # noqa: E402
from data.db import open_database  # noqa: E402
from data.models import Branch, Event, ShiftPattern, Technician  # noqa: E402
from data.services.api_tokens import issue_token  # noqa: E402

PG_ADMIN = os.environ.get("DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RESULTS = ROOT / "bench" / "results" / "field_api.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, technicians: int) -> list[str]:
    """A branch, technicians and one API token each; returns the bearer tokens."""
    db = open_database(url)
    with db.write_session() as s:
        branch = Branch(
            code="HEL",
            name="Helsinki",
            timezone="Europe/Helsinki",
            depot_lat=60.17,
            depot_lon=24.94,
            tax_rate=Decimal("0.255"),
        )
        s.add(branch)
        s.flush()
        for i in range(technicians):
            tech = Technician(
                code=f"T{i + 1}", name=f"Tech {i + 1}", branch_id=branch.id, home_lat=60.17, home_lon=24.94
            )
            tech.shifts = [ShiftPattern(weekday=d, start=clock(8), end=clock(16)) for d in range(5)]
            s.add(tech)
        s.commit()
    tokens = [issue_token(db, SYSTEM, f"T{i + 1}", "bench").secret for i in range(technicians)]
    db.dispose()
    return tokens


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DISPATCH_FIELD_API_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "integrations.field_api.app:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the field API did not start within 120 s")


async def hammer(port: int, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:
            while time.perf_counter() < stop_at:
                body = {"lat": 60.1 + rng.random() * 0.2, "lon": 24.8 + rng.random() * 0.3}
                started = time.perf_counter()
                try:
                    r = await http.post("/v1/positions", json=body)
                    ok = r.status_code == 200
                    key = str(r.status_code)
                except httpx.HTTPError as err:
                    ok, key = False, type(err).__name__
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[key] = errors.get(key, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else [float("nan")] * 99
    return {
        "requests_ok": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
    }


def count_positions(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Event).where(Event.type == "technician.position")).scalar()
    engine.dispose()
    return int(n or 0)


def run_engine(name: str, url: str, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    print(f"{name} ({workers} worker(s)): seeding", flush=True)
    tokens = seed(url, args.technicians)
    port = free_port()
    proc = start_server(url, port, workers)
    print(f"{name}: {args.clients} clients for {args.seconds:g} s", flush=True)
    try:
        figures = asyncio.run(hammer(port, tokens, args.clients, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    stored = count_positions(url)
    figures.update(
        engine=name,
        workers=workers,
        clients=args.clients,
        technicians=args.technicians,
        events_stored=stored,
        all_pings_stored=stored == figures["requests_ok"],
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--technicians", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pg-workers", type=int, default=2, help="also run PostgreSQL with this many processes")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(run_engine("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args, 1))
    if not args.skip_postgres:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        for workers in sorted({1, args.pg_workers}):
            name = f"dispatch_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                runs.append(run_engine("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args, workers))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result = {
        "benchmark": "field API position pings (POST /v1/positions, one ping per request)",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_end": os.getloadavg(),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'engine':<11} {'workers':>7} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} stored")
    for r in runs:
        print(
            f"{r['engine']:<11} {r['workers']:>7} {r['clients']:>7} {r['requests_per_second']:>8} "
            f"{r['p50_ms']:>8} {r['p95_ms']:>8} {sum(r['errors'].values()):>7} {r['all_pings_stored']}"
        )
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
