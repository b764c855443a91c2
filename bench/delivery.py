"""Delivery benchmark: completion events through `dispatch worker` processes to a local signed-webhook receiver.

For each setup (SQLite with 1 worker; PostgreSQL with 1 and 3 workers) it measures
- throughput: a backlog of N job.completed events is in the log when the workers start;
  deliveries per second from the first to the last effect at the receiver;
- latency: events are then produced at a steady rate while the workers run; event time (`events.at`)
  to receiver time, p50 and p95;
- correctness: every event's effect arrived (none lost) and none was sent twice (raw duplicates).

    ./dev run python bench/delivery.py [--events 10000] [--paced-events 1000 --rate 100]
Writes bench/results/delivery.json and prints a table.

The slow-receiver run (the lease case): a receiver that answers after `--slow-receiver` seconds,
`--slow-workers` PostgreSQL workers with a short lease; it counts what was lost, the most times one
delivery was sent (at-least-once allows a repeat; more than two means leases are being stolen), and
the throughput against the ceiling the receiver allows (slots / delay):

    ./dev run python bench/delivery.py --setups "" --slow-receiver 3 [--slow-events 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from data.actor import SYSTEM  # noqa: E402
from data.db import Database, open_database  # noqa: E402
from data.models.deliveries import Delivery, DeliveryStatus  # noqa: E402
from data.models.events import Event  # noqa: E402
from data.uow import UnitOfWork  # noqa: E402
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, FakeReceiver, serve  # noqa: E402

DISPATCH = str(Path(sys.executable).parent / "dispatch")
DEFAULT_PG = os.environ.get("DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def serve_receiver(port_file: str, delay: float = 0.0) -> None:
    """Run the receiver in its own process so it does not share a GIL with the benchmark driver."""
    fake = FakeReceiver(secret=SECRET, delay=delay)
    with serve(fake) as url:
        Path(port_file).write_text(url)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


def start_receiver(delay: float = 0.0) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "url"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-receiver", str(port_file), "--receiver-delay", str(delay)]
    )
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None:  # wait on the receiver itself: its start-up is slow on a busy machine
            raise RuntimeError(f"receiver exited with {proc.returncode} before it was listening")
        time.sleep(0.05)
    return proc, port_file.read_text()


def emit(db: Database, start: int, count: int) -> None:
    with UnitOfWork(db, SYSTEM) as uow:
        for n in range(start, start + count):
            uow.emit(
                "job.completed",
                "job",
                n,
                {"ref": f"J{n:06d}", "resolution": "replaced the circulation pump", "hours": "1.50", "type": "repair"},
            )


def write_config(path: Path, url: str, batch: int, lease: float = 60.0) -> None:
    path.write_text(
        f"""[delivery]
batch_size = {batch}
poll_seconds = 0.05
lease_seconds = {lease}

[connectors.hook]
type = "webhook"
url = "{url}/hooks/dispatch"
secret_env = "{SECRET_ENV}"
events = ["job.completed"]

[connectors.hook.mapping."job.completed"]
ref = "payload.ref"
resolution = "payload.resolution"
hours = {{ from = "payload.hours", as = "decimal" }}
summary = {{ template = "Job {{payload.ref}} closed: {{payload.resolution}}" }}
""",
        encoding="utf-8",
    )


def wait_for(url: str, total: int, timeout: float) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        stats = httpx.get(f"{url}/_stats", timeout=30).json()
        if len(stats["effects"]) >= total or time.time() > deadline:
            return stats
        time.sleep(0.2)


def event_times(db: Database) -> dict[int, float]:
    with db.read() as s:
        return {seq: at.timestamp() for seq, at in s.execute(select(Event.seq, Event.at))}


def delivered_count(db: Database) -> int:
    with db.read() as s:
        n = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.DELIVERED))
    return int(n or 0)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_phase(
    db: Database, url: str, config: Path, workers: int, concurrency: int, total: int, rate: float, first: int
) -> dict[str, Any]:
    httpx.post(f"{url}/_reset", timeout=30)
    if rate <= 0:
        for start in range(first, first + total, 1000):
            emit(db, start, min(1000, first + total - start))
    env = {**os.environ, SECRET_ENV: SECRET}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [
        subprocess.Popen(
            [
                DISPATCH,
                "--db",
                db.url,
                "worker",
                "--config",
                str(config),
                "--concurrency",
                str(concurrency),
                "--worker-id",
                f"bench-{i}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(workers)
    ]
    try:
        if rate > 0:
            wait_started(procs)  # the clock starts once every worker is delivering, however slow its start-up
            step = 20
            began = time.time()
            for i, start in enumerate(range(first, first + total, step)):
                delay = began + i * step / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                emit(db, start, min(step, first + total - start))
        stats = wait_for(url, total, timeout=max(600.0, total / 5))
        recorded_by = time.time() + 60  # the last answers are recorded just after their effect lands
        while time.time() < recorded_by and delivered_count(db) < first + total - 1:
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    times = event_times(db)
    arrived = {int(k.split("-")[2]): at for k, at in stats["effects"].items()}
    latencies = [arrived[seq] - times[seq] for seq in arrived if seq in times]
    receipts = sorted(arrived.values())
    span = receipts[-1] - receipts[0] if len(receipts) > 1 else float("nan")
    delivered = delivered_count(db)
    expected = set(range(first, first + total))
    return {
        "events": total,
        "rate_per_s": rate or None,
        "delivered_at_receiver": len(expected & set(arrived)),
        "lost": len(expected - set(arrived)),
        "duplicated_requests": stats["duplicates"],
        "max_sends_per_delivery": stats["max_sends_per_key"],
        "bad_signatures": stats["bad_signatures"],
        "deliveries_marked_delivered": delivered,
        "deliveries_per_s": round((len(receipts) - 1) / span, 1) if span == span and span > 0 else None,
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
        # CPU the worker processes used (start-up included) per delivery: what a free core would sustain.
        "worker_cpu_ms_per_delivery": round(worker_cpu * 1000 / max(1, len(arrived)), 2),
    }


def wait_started(procs: list[subprocess.Popen[bytes]]) -> None:
    """Read each worker's stderr up to its "delivering to" line (printed just before its loop starts)."""
    for p in procs:
        assert p.stderr is not None
        for line in iter(p.stderr.readline, b""):
            if b"delivering to" in line:
                break
        else:
            raise RuntimeError(f"worker exited with {p.wait()} before it started delivering")


def fresh_postgres(admin_url: str) -> tuple[str, str]:
    name = f"dispatch_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="backlog size for the throughput phase")
    parser.add_argument("--paced-events", type=int, default=1_000, help="events produced at --rate for latency")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the latency phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight per worker")
    parser.add_argument("--batch", type=int, default=100, help="deliveries claimed per round")
    parser.add_argument("--setups", default="sqlite:1,postgres:1,postgres:3", help="engine:workers, comma separated")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "delivery.json"))
    parser.add_argument("--slow-receiver", type=float, default=0.0, help="seconds the slow receiver waits (0: no run)")
    parser.add_argument("--slow-events", type=int, default=300, help="backlog for the slow-receiver run")
    parser.add_argument("--slow-workers", type=int, default=3, help="PostgreSQL workers in the slow-receiver run")
    parser.add_argument("--slow-concurrency", type=int, default=8, help="requests in flight per worker there")
    parser.add_argument("--slow-lease", type=float, default=10.0, help="lease_seconds there")
    parser.add_argument("--serve-receiver", help=argparse.SUPPRESS)
    parser.add_argument("--receiver-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.serve_receiver, args.receiver_delay)
        return

    results = []
    slow = slow_run(args) if args.slow_receiver > 0 else None
    receiver, url = start_receiver()
    try:
        for setup in filter(None, args.setups.split(",")):
            engine, workers = setup.split(":")
            tmp = Path(tempfile.mkdtemp(prefix="dispatch-bench-"))
            pg_name = None
            if engine == "sqlite":
                db_url = f"sqlite:///{tmp / 'bench.sqlite'}"
            else:
                db_url, pg_name = fresh_postgres(args.postgres_url)
            db = open_database(db_url)
            config = tmp / "integrations.toml"
            write_config(config, url, args.batch)
            print(f"{engine} x{workers}: backlog of {args.events} ...", flush=True)
            backlog = run_phase(db, url, config, int(workers), args.concurrency, args.events, 0, 1)
            print(f"{engine} x{workers}: {args.paced_events} events at {args.rate:g}/s ...", flush=True)
            paced = run_phase(
                db, url, config, int(workers), args.concurrency, args.paced_events, args.rate, args.events + 1
            )
            results.append({"engine": engine, "workers": int(workers), "backlog": backlog, "paced": paced})
            db.dispose()
            if pg_name:
                drop_postgres(args.postgres_url, pg_name)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)

    report = {
        "benchmark": "delivery",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "settings": {"concurrency_per_worker": args.concurrency, "batch": args.batch, "connector": "signed webhook"},
        "results": results,
        "slow_receiver": slow,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    header = (
        f"{'setup':<14}{'deliv/s':>9}{'backlog p50':>13}{'p95':>9}{'paced p50':>11}{'p95':>9}"
        f"{'lost':>6}{'dup':>5}{'cpu ms/deliv':>14}"
    )
    print(header)
    for r in results:
        b, p = r["backlog"], r["paced"]
        print(
            f"{r['engine'] + ' x' + str(r['workers']):<14}{b['deliveries_per_s'] or 0:>9}"
            f"{b['latency_p50_ms'] or 0:>11.0f}ms{b['latency_p95_ms'] or 0:>7.0f}ms"
            f"{p['latency_p50_ms'] or 0:>9.0f}ms{p['latency_p95_ms'] or 0:>7.0f}ms"
            f"{b['lost'] + p['lost']:>6}{b['duplicated_requests'] + p['duplicated_requests']:>5}"
            f"{b['worker_cpu_ms_per_delivery']:>14}"
        )
    if slow is not None:
        print(
            f"slow receiver ({slow['receiver_delay_s']:g} s, {slow['workers']} PostgreSQL workers x "
            f"{slow['concurrency']}, lease {slow['lease_s']:g} s): {slow['deliveries_per_s']} deliveries/s "
            f"(ceiling {slow['ceiling_per_s']:g}/s), lost {slow['lost']}, "
            f"most sends of one delivery {slow['max_sends_per_delivery']}, "
            f"marked delivered {slow['deliveries_marked_delivered']}/{slow['events']}"
        )
    print(f"written to {args.out}")


def slow_run(args: argparse.Namespace) -> dict[str, Any]:
    """The lease case: a receiver slower than a batch's share of the lease, several workers."""
    receiver, url = start_receiver(args.slow_receiver)
    db_url, pg_name = fresh_postgres(args.postgres_url)
    try:
        db = open_database(db_url)
        tmp = Path(tempfile.mkdtemp(prefix="dispatch-bench-slow-"))
        config = tmp / "integrations.toml"
        write_config(config, url, args.batch, lease=args.slow_lease)
        print(
            f"slow receiver: {args.slow_events} events, {args.slow_receiver:g} s per answer, "
            f"{args.slow_workers} workers ...",
            flush=True,
        )
        began = time.time()
        result = run_phase(db, url, config, args.slow_workers, args.slow_concurrency, args.slow_events, 0, 1)
        db.dispose()
    finally:
        drop_postgres(args.postgres_url, pg_name)
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)
    return {
        **result,
        "receiver_delay_s": args.slow_receiver,
        "workers": args.slow_workers,
        "concurrency": args.slow_concurrency,
        "lease_s": args.slow_lease,
        "ceiling_per_s": round(args.slow_workers * args.slow_concurrency / args.slow_receiver, 1),
        "wall_s": round(time.time() - began, 1),
    }


if __name__ == "__main__":
    main()
