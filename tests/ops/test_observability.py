"""What an operator watches: /healthz, /readyz, /metrics, `dispatch status`, and logging set up once."""

from __future__ import annotations

import json
import logging
import stat
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data.db import Database, create_database_engine
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from dispatch_tui.cli.main import app
from integrations.field_api import create_app
from integrations.logs import configure_logging

runner = CliRunner()


def _deliveries(db: Database, *statuses: DeliveryStatus, age: timedelta = timedelta(minutes=5)) -> None:
    created = utcnow() - age
    with db.write_session() as session, session.begin():
        for i, status in enumerate(statuses):
            session.add(
                Delivery(
                    connector="hubspot", event_seq=i + 1, subject_key=f"job:{i}", event_type="job.created",
                    idempotency_key=f"k{i}", status=status, created_at=created,
                )
            )  # fmt: skip


def test_health_readiness_and_metrics(sqlite_db: Database) -> None:
    _deliveries(sqlite_db, DeliveryStatus.PENDING, DeliveryStatus.DEAD, DeliveryStatus.DELIVERED)
    with TestClient(create_app(sqlite_db)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/v1/me").status_code == 401
        body = client.get("/metrics").text
    assert 'dispatch_deliveries{state="pending"} 1.0' in body
    assert 'dispatch_deliveries{state="dead"} 1.0' in body
    assert "dispatch_dead_letters 1.0" in body
    oldest = next(line for line in body.splitlines() if line.startswith("dispatch_oldest_pending_delivery_seconds"))
    assert 290 < float(oldest.split()[1]) < 3600
    assert 'dispatch_http_requests_total{method="GET",route="/v1/me",status="401"} 1.0' in body
    assert 'dispatch_http_request_seconds_count{method="GET",route="/readyz"} 1.0' in body


def test_readyz_says_503_when_the_database_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/dir/x.sqlite"
    broken = Database(url, create_database_engine(url))
    (tmp_path / "missing" / "dir").rmdir()
    with TestClient(create_app(broken)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["status"] == "not ready"


def test_status_command_prints_the_same_figures(sqlite_db: Database) -> None:
    _deliveries(sqlite_db, DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.DEAD)
    result = runner.invoke(app, ["--db", sqlite_db.url, "status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ready"] is True and report["schema"] == report["schema_head"]
    assert report["deliveries"]["pending"] == 2 and report["dead_letters"] == 1
    human = runner.invoke(app, ["--db", sqlite_db.url, "status"])
    assert human.exit_code == 0 and "dead_letters\t1" in human.stdout


def test_json_logs_go_to_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "dispatch.log"
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("info", "json", path)
        configure_logging("info", "json", path)  # twice: still one line per record
        logging.getLogger("dispatch.worker").info("deliveries %s", "sent 3", extra={"deliveries_delivered": 3})
        logging.getLogger("dispatch.worker").debug("not at info")
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [line] = path.read_text().splitlines()
    record = json.loads(line)
    assert record["message"] == "deliveries sent 3" and record["level"] == "INFO"
    assert record["logger"] == "dispatch.worker" and record["deliveries_delivered"] == 3


def test_log_options_on_the_command_line(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "cli.log"
    config = tmp_path / "integrations.toml"
    config.write_text("")
    args = ["--db", sqlite_db.url, "--log-level", "info", "--log-format", "json", "--log-file", str(path)]
    result = runner.invoke(app, [*args, "worker", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    messages = [json.loads(line)["message"] for line in path.read_text().splitlines()]
    assert any(m.startswith("worker ") and "started" in m for m in messages), messages
    bad = runner.invoke(app, ["--db", sqlite_db.url, "--log-level", "loud", "status"])
    assert bad.exit_code == 2 and "loud" in bad.stderr


def test_a_solve_logs_its_time_and_status(sqlite_db: Database, tmp_path: Path) -> None:
    from data.models import JobType
    from data.services.jobs import JobDraft, create_job
    from tests.factories import DISPATCHER, build_world, local

    build_world(sqlite_db)
    create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Leak", 60, skills={}, created_at=local(7)))
    path = tmp_path / "solve.log"
    args = ["--db", sqlite_db.url, "--as", "dana", "--log-format", "json", "--log-file", str(path)]
    result = runner.invoke(app, [*args, "schedule", "--date", "2026-11-25", "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    [solve] = [json.loads(line) for line in path.read_text().splitlines() if "solve HEL" in line]
    assert solve["solve_status"] and solve["solve_seconds"] >= 0 and solve["branch"] == "HEL"


def test_solve_times_reach_the_metrics_and_status_across_processes(sqlite_db: Database) -> None:
    """A `dispatch schedule` in one process, then /metrics and `dispatch status` elsewhere report it."""
    from data.models import JobType
    from data.services.jobs import JobDraft, create_job
    from tests.factories import DISPATCHER, build_world, local

    build_world(sqlite_db)
    create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Leak", 60, skills={}, created_at=local(7)))
    for _ in range(2):
        done = runner.invoke(app, ["--db", sqlite_db.url, "schedule", "--date", "2026-11-25", "--time-limit", "1"])
        assert done.exit_code == 0, done.output
    with TestClient(create_app(sqlite_db)) as client:
        body = client.get("/metrics").text
    counts = [line for line in body.splitlines() if line.startswith("dispatch_solves_24h{")]
    assert sum(float(line.split()[-1]) for line in counts) == 2.0 and all('branch="HEL"' in c for c in counts)
    last = next(line for line in body.splitlines() if line.startswith('dispatch_last_solve_seconds{branch="HEL"}'))
    assert float(last.split()[-1]) > 0
    status = runner.invoke(app, ["--db", sqlite_db.url, "status", "--json"])
    assert status.exit_code == 0, status.output
    hel = json.loads(status.stdout)["solves_24h"]["HEL"]
    assert hel["count"] == 2 and hel["max_seconds"] >= hel["last_seconds"] > 0
