"""Workers as real processes: killed with SIGKILL mid-batch and restarted; three at once on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from data.db import Database
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, FakeReceiver, emit_events, serve

DISPATCH = str(Path(sys.executable).parent / "dispatch")


def write_config(path: Path, url: str, lease: float = 60.0) -> Path:
    path.write_text(
        f"""
[delivery]
lease_seconds = {lease}
batch_size = 20
backoff_base_seconds = 0.1
poll_seconds = 0.05

[connectors.hook]
type = "webhook"
url = "{url}"
secret_env = "{SECRET_ENV}"
events = ["job.completed"]
""",
        encoding="utf-8",
    )
    return path


def worker(db_url: str, config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, SECRET_ENV: SECRET}
    return subprocess.Popen(
        [DISPATCH, "--db", db_url, "worker", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def leases_lapsed(db: Database, patience: float = 120.0) -> None:
    """Wait until no in-flight delivery holds a lease that is still running (the condition, not a fixed sleep)."""
    deadline = time.monotonic() + patience
    while True:
        with db.read() as s:
            held = s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.IN_FLIGHT, Delivery.locked_until > utcnow())
            )
        if not held:
            return
        assert time.monotonic() < deadline, f"{held} leases still held after {patience} s"
        time.sleep(0.05)


def count(db: Database, status: DeliveryStatus) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == status)) or 0)


@pytest.fixture
def slow_receiver() -> Iterator[tuple[FakeReceiver, str]]:
    fake = FakeReceiver(secret=SECRET, delay=0.01)
    with serve(fake) as url:
        yield fake, url


def test_worker_killed_mid_batch_loses_nothing_and_the_receiver_applies_each_once(
    sqlite_db: Database, slow_receiver: Any, tmp_path: Path
) -> None:
    fake, url = slow_receiver
    total = 120
    emit_events(sqlite_db, total)
    config = write_config(tmp_path / "integrations.toml", url, lease=1.0)
    first = worker(sqlite_db.url, config, "--concurrency", "4", "--worker-id", "doomed")
    deadline = time.time() + 180  # process start-up is slow on a busy machine
    while len(fake.effects) < 40 and time.time() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    landed_before = len(fake.effects)
    assert 0 < landed_before < total, "the kill must land mid-run"
    in_flight = count(sqlite_db, DeliveryStatus.IN_FLIGHT)
    leases_lapsed(sqlite_db)  # the heir may take over the dead worker's rows only once their leases lapse
    second = worker(sqlite_db.url, config, "--once", "--concurrency", "4", "--worker-id", "heir")
    _out, errors = second.communicate(timeout=180)
    assert second.returncode == 0, errors.decode()
    assert count(sqlite_db, DeliveryStatus.DELIVERED) == total
    expected = {f"dispatch-hook-{seq}-0" for seq in range(1, total + 1)}
    assert set(fake.effects) == expected  # nothing lost, nothing extra
    assert fake.bad_signatures == 0
    # Raw repeats are the price of at-least-once: at most what was in flight when the worker died.
    assert 0 <= fake.duplicates() <= max(in_flight, 20)


@pytest.mark.postgres
def test_three_workers_on_postgres_never_send_a_delivery_twice(
    pg_db: Database, postgres_url: str, slow_receiver: Any, tmp_path: Path
) -> None:
    fake, url = slow_receiver
    total = 120
    emit_events(pg_db, total)
    config = write_config(tmp_path / "integrations.toml", url)
    procs = [
        worker(postgres_url, config, "--once", "--json", "--concurrency", "4", "--worker-id", f"w{i}") for i in range(3)
    ]
    sent = 0
    for p in procs:
        out, errors = p.communicate(timeout=300)
        assert p.returncode == 0, errors.decode()
        sent += json.loads(out)["sent"]
    # A worker may leave before the others finish; a last pass picks up anything still due.
    last = worker(postgres_url, config, "--once", "--json")
    out, _errors = last.communicate(timeout=180)
    sent += json.loads(out)["sent"]
    assert sent == total
    assert count(pg_db, DeliveryStatus.DELIVERED) == total
    assert len(fake.effects) == total
    assert len(fake.raw) == total, "some delivery was sent more than once"
    with pg_db.read() as s:
        by_worker = dict(s.execute(select(Delivery.attempts, func.count()).group_by(Delivery.attempts)).all())
    assert by_worker == {1: total}
