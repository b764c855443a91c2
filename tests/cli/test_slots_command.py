"""`dispatch slots`: windows a caller can be promised, priced against the day as planned."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from typer.testing import CliRunner

from data.db import Database
from data.models import JobType
from data.services.jobs import JobDraft, assign_job, create_job
from data.slots import slot_offers
from dispatch_tui.cli import dates
from dispatch_tui.cli.main import app
from optimizer.io import slot_offers_schema
from tests.factories import DAY, DISPATCHER, build_world, local


@pytest.fixture
def day(sqlite_db: Database) -> Database:
    build_world(sqlite_db)
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S3", "Boiler", 120, skills={"hvac": 1}))
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(10))
    return sqlite_db


def test_offers_skip_busy_hours_and_the_past(day: Database) -> None:
    offers = slot_offers(day, "S1", {"hvac": 2}, 60, 2, now=local(7))
    assert offers and {o.technician for o in offers} == {"T1"}  # only T1 has hvac 2
    today = [o for o in offers if o.window_start.date() == DAY]
    assert today and all(o.window_start >= local(8) for o in today)
    assert any(o.window_start.date() == DAY + timedelta(days=1) for o in offers)
    for o in today:
        assert o.window_start <= o.start <= o.window_end
        if local(10) < o.start + timedelta(hours=1) and o.start < local(12):  # T1 is on the boiler 10-12
            assert o.displaced and o.displaced[0]["minutes_later"] > 0 and o.cost > offers[0].cost
    assert offers[0].displaced == []
    assert [o.cost for o in offers] == sorted(o.cost for o in offers)
    later = slot_offers(day, "S1", {"hvac": 2}, 60, 1, now=local(13, 20))
    assert later and all(o.window_start >= local(14) for o in later)  # from the next full hour


def test_cli_slots(day: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dates, "now", lambda tz: local(7).astimezone(ZoneInfo(tz)))
    runner = CliRunner()
    base = ["--db", day.url, "--as", "dana", "slots", "--site", "S1", "--skills", "hvac2", "--duration", "60"]
    result = runner.invoke(app, [*base, "--days", "2", "--json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    jsonschema.validate(rows, slot_offers_schema())
    assert len(rows) == 3 and all(r["technician"] == "T1" for r in rows)
    assert datetime.fromisoformat(rows[0]["window_end"]) - datetime.fromisoformat(rows[0]["window_start"]) == (
        timedelta(hours=2)
    )
    table = runner.invoke(app, [*base, "--days", "1"])
    assert table.exit_code == 0 and "Windows at S1" in table.output
    bad = runner.invoke(app, [*base, "--days", "0"])
    assert bad.exit_code == 2 and "--days" in bad.stderr
    missing = runner.invoke(app, ["--db", day.url, "slots", "--site", "S9"])
    assert missing.exit_code != 0 and "S9" in missing.stderr
