"""The deployed topology, without systemd or containers: one PostgreSQL, three `dispatch worker` processes and
two `dispatch serve --workers 2` processes; phones drive a day through the field API (offline batches to
either server) while one worker and one whole server are killed with SIGKILL. Every delivery lands once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from data.db import Database
from data.models.deliveries import Delivery, DeliveryStatus
from data.models.events import Event
from data.services.api_tokens import issue_token
from tests.factories import ADMIN, build_world
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, FakeReceiver
from tests.integrations.test_delivery_processes import slow_receiver, write_config  # noqa: F401 - a fixture
from tests.integrations.test_field_api_world import at, dispatched_job

pytestmark = pytest.mark.postgres
DISPATCH = str(Path(sys.executable).parent / "dispatch")
PATIENCE = 240.0  # seconds a condition may take on a busy machine before the test gives up on it
TECHS = ("T1", "T2", "T3")
HOURS = (8, 10, 12, 14)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, condition: Callable[[], bool]) -> None:
    """Poll a condition (never a fixed sleep); fail naming it if it never holds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """In its own session, so killing it takes its children (uvicorn's worker processes) too."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [DISPATCH, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def count(db: Database, *statuses: DeliveryStatus) -> int:
    with db.read() as s:
        stmt = select(func.count()).select_from(Delivery)
        if statuses:
            stmt = stmt.where(Delivery.status.in_(statuses))
        return int(s.scalar(stmt) or 0)


def status_events(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Event).where(Event.type == "job.status_changed")) or 0)


def test_workers_and_servers_killed_mid_day_lose_and_double_nothing(
    pg_db: Database,
    postgres_url: str,
    slow_receiver: tuple[FakeReceiver, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    fake, url = slow_receiver
    build_world(pg_db)
    jobs = {tech: [dispatched_job(pg_db, tech, hour, site=f"S{1 + i % 3}") for i, hour in enumerate(HOURS)]
            for tech in TECHS}  # fmt: skip
    tokens = {tech: issue_token(pg_db, ADMIN, tech, label="phone").secret for tech in TECHS}
    config = write_config(tmp_path / "integrations.toml", url, lease=2.0)
    config.write_text(config.read_text().replace('"job.completed"', '"job.status_changed"'))
    env = {**os.environ, SECRET_ENV: SECRET, "DISPATCH_LOG_FILE": str(tmp_path / "dispatch.log")}
    base = ["--db", postgres_url, "--log-level", "info"]
    workers = [
        start([*base, "worker", "--config", str(config), "--worker-id", f"w{i}", "--concurrency", "4"], env,
              tmp_path / f"worker{i}.log")
        for i in range(3)
    ]  # fmt: skip
    ports = [free_port(), free_port()]
    servers = [
        start([*base, "serve", "--port", str(port), "--workers", "2"], env, tmp_path / f"serve{port}.log")
        for port in ports
    ]
    procs = [*workers, *servers]
    try:
        wait_for("both field API servers ready", lambda: all(ready(p) for p in ports))
        live_ports = list(ports)

        def phone_syncs(tech: str, ref: str, hour: int) -> None:
            """A phone's offline batch, sent to the first server that answers (a retry is applied once)."""
            batch = {
                "events": [
                    {"client_event_id": f"{ref}-go", "type": "status", "job_ref": ref,
                     "occurred_at": at(hour - 1, 40).isoformat(), "payload": {"status": "en_route"}},
                    {"client_event_id": f"{ref}-in", "type": "status", "job_ref": ref,
                     "occurred_at": at(hour).isoformat(), "payload": {"status": "on_site"}},
                ]
            }  # fmt: skip
            for port in [*live_ports, *live_ports]:
                try:
                    answer = httpx.post(
                        f"http://127.0.0.1:{port}/v1/sync",
                        json=batch,
                        headers={"Authorization": f"Bearer {tokens[tech]}"},
                        timeout=30,
                    )
                except httpx.HTTPError:
                    continue
                assert answer.status_code == 200, answer.text
                outcomes = {r["outcome"] for r in answer.json()["results"]}
                assert outcomes <= {"applied", "duplicate"}, answer.text
                return
            pytest.fail(f"no field API server took {ref}'s batch")

        visits = [(tech, ref, HOURS[i]) for tech in TECHS for i, ref in enumerate(jobs[tech])]
        half = len(visits) // 2
        for visit in visits[:half]:
            phone_syncs(*visit)
        wait_for("some deliveries landed before the kills", lambda: len(fake.effects) >= 4)
        os.killpg(workers[0].pid, signal.SIGKILL)
        os.killpg(servers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        servers[0].wait(timeout=30)
        live_ports.remove(ports[0])
        for visit in visits[half:]:
            phone_syncs(*visit)
        for visit in visits[:2]:  # a phone that never got its answer sends the batch again
            phone_syncs(*visit)

        expected = status_events(pg_db)
        assert expected == len(visits) * 3  # dispatched (set-up), en_route, on_site per job
        wait_for(
            "every delivery planned and delivered",
            lambda: count(pg_db) == expected and count(pg_db, DeliveryStatus.DELIVERED) == expected,
        )
        wait_for("the receiver applied every delivery", lambda: len(fake.effects) == expected)
        assert count(pg_db, DeliveryStatus.DEAD) == 0
        assert {e.body["type"] for e in fake.effects.values()} == {"job.status_changed"}  # type: ignore[index]
        assert all(p.poll() is None for p in [*workers[1:], *servers[1:]]), "a survivor died"
        logged = (tmp_path / "dispatch.log").read_text()
        assert "sync batch from" in logged and "deliveries sent" in logged
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
