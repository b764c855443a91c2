"""`dispatch import` / `dispatch export` through Typer's runner: exit codes, messages, files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from dispatch_tui.cli.main import app
from tests.factories import build_world

runner = CliRunner()
HEADER = "ref,type,priority,summary,site,skills,duration_minutes"


def test_bad_csv_exits_2_names_row_and_field_and_lands_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    path = tmp_path / "jobs.csv"
    path.write_text(
        "\n".join([HEADER, "A1,repair,2,Leak,S1,plumbing:1,30", "A2,repair,urgent,Leak,S1,plumbing:1,30",
                   "A3,repair,2,Leak,S1,welding:1,30"]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    result = runner.invoke(app, ["--db", sqlite_db.url, "--as", "dana", "import", "jobs", str(path)])
    assert result.exit_code == 2
    assert "jobs.csv row 3, field priority: 'urgent' is not 1-4" in result.stderr
    assert "jobs.csv row 4, field skills: unknown skill 'welding'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert tail(sqlite_db) == []


def test_dry_run_skip_bad_and_export(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    path = tmp_path / "jobs.csv"
    path.write_text("\n".join([HEADER, "A1,repair,2,Leak,S1,plumbing:1,30", "A2,repair,9,Leak,S1,,30"]) + "\n")
    base = ["--db", sqlite_db.url, "--as", "dana"]
    dry = runner.invoke(app, [*base, "import", "jobs", str(path), "--dry-run", "--json"])
    assert dry.exit_code == 2 and json.loads(dry.stdout)["created"] == 1
    assert tail(sqlite_db) == []
    rejects = tmp_path / "rejects.csv"
    landed = runner.invoke(app, [*base, "import", "jobs", str(path), "--skip-bad", "--rejects", str(rejects)])
    assert landed.exit_code == 0, landed.output
    assert "1 created" in landed.stdout and "rejected rows written" in landed.stderr
    with rejects.open(newline="") as fh:
        [bad] = list(csv.DictReader(fh))
    assert bad["ref"] == "A2" and bad["priority"] == "9" and bad["error"] == "field priority: '9' is not 1-4"
    out = tmp_path / "export.json"
    exported = runner.invoke(app, [*base, "export", "jobs", "--format", "json", "--out", str(out)])
    assert exported.exit_code == 0
    assert [j["ref"] for j in json.loads(out.read_text())] == ["A1"]
    ics = runner.invoke(app, [*base, "export", "jobs", "--format", "ics"])
    assert ics.exit_code == 0 and ics.stdout.startswith("BEGIN:VCALENDAR")
    wrong = runner.invoke(app, [*base, "export", "technicians", "--format", "ics"])
    assert wrong.exit_code == 2
    techs = runner.invoke(app, [*base, "export", "technicians", "--format", "geojson"])
    assert json.loads(techs.stdout)["features"][0]["geometry"]["type"] == "Point"
