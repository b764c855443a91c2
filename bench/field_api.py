"""Field API benchmark: position pings per second, and a burst of queued offline events, through real servers.

For each engine the bench creates a throw-away database (a branch, technicians with a token and a
dispatched job each), starts `dispatch serve`'s app under uvicorn in subprocesses on 127.0.0.1 and:

* **pings**: `--clients` concurrent clients, each speaking for its own technician, POST one position per
  request to /v1/positions for `--seconds`; req/s and latency percentiles of the successful requests.
* **burst**: `--phones` phones come back online at once, each uploading `--events-per-phone` queued
  events (clock in, a break, status changes, notes and positions) through POST /v1/sync in batches of
  `--batch`; the time until every phone has its answers. Then every phone sends it all again (a retry
  after a lost answer) and the bench checks the log: each event stored exactly once, every replay
  answered `duplicate`.

The load generator is a small keep-alive HTTP/1.1 client on asyncio streams, in its own process, so
the figures measure the server rather than an HTTP library.

    ./dev run python bench/field_api.py [--engines postgresql,sqlite] [--workers 2] [--clients 64]
Writes bench/results/field_api.json and prints the figures with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
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
from datetime import UTC, datetime, timedelta
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
from data.models import Branch, Customer, Event, JobType, ShiftPattern, Site, Technician  # noqa: E402
from data.models.api_tokens import ApiToken  # noqa: E402
from data.models.jobs import JobStatus  # noqa: E402
from data.services.api_tokens import digest  # noqa: E402
from data.services.jobs import JobDraft, assign_job, change_status, create_job  # noqa: E402

PG_ADMIN = os.environ.get("DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RESULTS = ROOT / "bench" / "results" / "field_api.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- seeding -----------------------------------------------------------------------------------------


def seed(url: str, technicians: int, now: datetime) -> tuple[list[str], list[str]]:
    """Technicians on shift around the clock, a token and a dispatched job each; returns tokens and job refs."""
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
        customer = Customer(code="C1", name="Bench customer")
        s.add(customer)
        s.flush()
        s.add(
            Site(
                code="S1",
                customer_id=customer.id,
                branch_id=branch.id,
                name="Site",
                address="Mannerheimintie 1",
                lat=60.17,
                lon=24.94,
            )
        )
        for i in range(technicians):
            tech = Technician(
                code=f"T{i + 1}", name=f"Tech {i + 1}", branch_id=branch.id, home_lat=60.17, home_lon=24.94
            )
            tech.shifts = [ShiftPattern(weekday=d, start=clock(0), end=clock(23, 59)) for d in range(7)]
            s.add(tech)
        s.flush()
        secrets = [uuid.uuid4().hex for _ in range(technicians)]
        rows = [
            ApiToken(technician_id=t.id, secret_sha256=digest(secret), label="bench", created_by="bench")
            for t, secret in zip(s.scalars(select(Technician).order_by(Technician.id)), secrets, strict=True)
        ]
        s.add_all(rows)
        s.commit()
        tokens = [f"dsp_{row.id}_{secret}" for row, secret in zip(rows, secrets, strict=True)]
    refs = []
    start = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    for i in range(technicians):
        job = create_job(db, SYSTEM, JobDraft(JobType.REPAIR, "S1", f"Bench job {i + 1}", 60, created_at=start))
        assign_job(db, SYSTEM, job.ref, f"T{i + 1}", start + timedelta(minutes=30))
        change_status(db, SYSTEM, job.ref, JobStatus.DISPATCHED, at=start + timedelta(minutes=1))
        refs.append(job.ref)
    db.dispose()
    return tokens, refs


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


# --- a lean keep-alive HTTP/1.1 client ---------------------------------------------------------------


class Connection:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Authorization: Bearer {token}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        request = f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        self.writer.write(request)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        content = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def pings(port: int, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        conn = Connection(port, tokens[n % len(tokens)])
        rng = random.Random(n)
        while time.perf_counter() < stop_at:
            body = json.dumps({"lat": 60.1 + rng.random() * 0.2, "lon": 24.8 + rng.random() * 0.3}).encode()
            started = time.perf_counter()
            try:
                status, _ = await conn.post("/v1/positions", body)
                key = str(status)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as err:
                status, key = 0, type(err).__name__
                await conn.close()
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors[key] = errors.get(key, 0) + 1
        await conn.close()

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
        "p99_ms": round(q[98] * 1000, 1),
    }


def phone_events(phone: int, job_ref: str, count: int, now: datetime) -> list[dict[str, Any]]:
    """What one phone queued while offline: a working morning, in its own time order."""
    start = now - timedelta(minutes=count + 5)

    def item(n: int, kind: str, payload: dict[str, Any], job: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "client_event_id": f"ph{phone}-{n:04d}",
            "type": kind,
            "occurred_at": (start + timedelta(minutes=n)).isoformat(),
            "payload": payload,
        }
        if job:
            body["job_ref"] = job
        return body

    fixed: dict[int, tuple[str, dict[str, Any], str | None]] = {
        0: ("clock", {"act": "clock_in"}, None),
        5: ("status", {"status": "en_route"}, job_ref),
        15: ("status", {"status": "on_site"}, job_ref),
        20: ("note", {"body": "Boiler pressure low, topped up"}, job_ref),
        30: ("clock", {"act": "break_start"}, None),
        35: ("clock", {"act": "break_end"}, None),
        40: ("note", {"body": "Customer asks for a service quote"}, job_ref),
    }
    rng = random.Random(phone)
    out = []
    for n in range(count):
        if n in fixed:
            kind, payload, job = fixed[n]
            out.append(item(n, kind, payload, job))
        else:
            out.append(item(n, "position", {"lat": 60.1 + rng.random() * 0.2, "lon": 24.8 + rng.random() * 0.3}))
    return out


async def burst(port: int, tokens: list[str], refs: list[str], per_phone: int, batch: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    queues = [phone_events(i, refs[i], per_phone, now) for i in range(len(tokens))]

    async def upload(i: int) -> dict[str, int]:
        conn = Connection(port, tokens[i])
        counts: dict[str, int] = {}
        try:
            for at in range(0, len(queues[i]), batch):
                body = json.dumps({"events": queues[i][at : at + batch]}).encode()
                status, content = await conn.post("/v1/sync", body)
                if status != 200:
                    counts[f"http_{status}"] = counts.get(f"http_{status}", 0) + 1
                    continue
                for r in json.loads(content)["results"]:
                    key = r["outcome"] if r["outcome"] != "rejected" else f"rejected:{r['code']}"
                    counts[key] = counts.get(key, 0) + 1
        finally:
            await conn.close()
        return counts

    async def everyone() -> tuple[float, dict[str, int]]:
        began = time.perf_counter()
        answers = await asyncio.gather(*(upload(i) for i in range(len(tokens))))
        total: dict[str, int] = {}
        for a in answers:
            for k, v in a.items():
                total[k] = total.get(k, 0) + v
        return time.perf_counter() - began, total

    first_seconds, first = await everyone()
    replay_seconds, replay = await everyone()
    return {
        "phones": len(tokens),
        "events": len(tokens) * per_phone,
        "batch": batch,
        "seconds": round(first_seconds, 2),
        "events_per_second": round(len(tokens) * per_phone / first_seconds, 1),
        "answers": first,
        "replay_seconds": round(replay_seconds, 2),
        "replay_answers": replay,
    }


def stored_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Event.type, func.count()).group_by(Event.type)).all()
    engine.dispose()
    return {t: int(n) for t, n in rows}


def in_process(target: Any, *args: Any) -> Any:
    """Run the load generator in a process of its own so it does not share the bench's interpreter."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(target, args)


def run_pings(port: int, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    return asyncio.run(pings(port, tokens, clients, seconds))


def run_burst(port: int, tokens: list[str], refs: list[str], per_phone: int, batch: int) -> dict[str, Any]:
    return asyncio.run(burst(port, tokens, refs, per_phone, batch))


def run_engine(name: str, url: str, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    print(f"{name} ({workers} worker(s)): seeding {max(args.clients, args.phones)} technicians", flush=True)
    tokens, refs = seed(url, max(args.clients, args.phones), datetime.now(UTC))
    port = free_port()
    proc = start_server(url, port, workers)
    try:
        print(f"{name}: pings from {args.clients} clients for {args.seconds:g} s", flush=True)
        ping_figures = in_process(run_pings, port, tokens[: args.clients], args.clients, args.seconds)
        ping_stored = stored_counts(url).get("technician.position", 0)
        print(f"{name}: burst of {args.phones} x {args.events_per_phone} queued events", flush=True)
        load_before = os.getloadavg()
        burst_figures = in_process(
            run_burst, port, tokens[: args.phones], refs[: args.phones], args.events_per_phone, args.batch
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    stored = stored_counts(url)
    per_phone_fixed = 7  # clock x3, status x2, note x2: see phone_events
    expected = {
        "technician.position": ping_stored + args.phones * (args.events_per_phone - per_phone_fixed),
        "field.client_event": args.phones * per_phone_fixed,
        "job.note_added": args.phones * 2,
        "technician.clocked_in": args.phones,
        "technician.break_started": args.phones,
        "technician.break_ended": args.phones,
    }
    burst_figures["stored_exactly_once"] = all(stored.get(k, 0) == v for k, v in expected.items())
    burst_figures["stored"] = {k: stored.get(k, 0) for k in expected}
    burst_figures["load_average_before"] = [round(x, 2) for x in load_before]
    ping_figures["all_pings_stored"] = ping_stored == ping_figures["requests_ok"]
    return {"engine": name, "workers": workers, "clients": args.clients, "pings": ping_figures, "burst": burst_figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="postgresql", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--workers", default="2", help="server processes for PostgreSQL, comma-separated")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--events-per-phone", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50, help="events per /v1/sync request")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    load_start = os.getloadavg()
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run_engine("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args, 1))
            continue
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        for workers in [int(w) for w in args.workers.split(",")]:
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
        "benchmark": "field API: position pings (one per request) and a burst of queued offline events",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average at start {result['load_average_at_start']}, at end {result['load_average_at_end']}")
    columns = ("engine", "workers", "clients", "pings/s", "p50 ms", "p95 ms", "errors")
    print(f"{columns[0]:<11} " + " ".join(f"{c:>7}" for c in columns[1:]) + " stored")
    for r in runs:
        p = r["pings"]
        print(
            f"{r['engine']:<11} {r['workers']:>7} {r['clients']:>7} {p['requests_per_second']:>7} "
            f"{p['p50_ms']:>7} {p['p95_ms']:>7} {sum(p['errors'].values()):>7} {p['all_pings_stored']}"
        )
    for r in runs:
        b = r["burst"]
        print(
            f"{r['engine']} {r['workers']} worker(s): {b['events']} queued events from {b['phones']} phones in "
            f"{b['seconds']} s ({b['events_per_second']}/s), answers {b['answers']}; replay in "
            f"{b['replay_seconds']} s {b['replay_answers']}; stored exactly once: {b['stored_exactly_once']}"
        )
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
