"""The batch `schedule` piece: exit codes, JSON output, named errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_plan_io import GOOD

from dispatch_tui.cli.schedule_file import schedule_from_file
from optimizer.io import load_plan


def test_schedules_a_file_and_writes_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(GOOD))
    out = tmp_path / "plan.json"
    assert schedule_from_file(problem, out, 0.5, as_json=True) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["validation"] == []
    assert load_plan(out).assignment().keys() == {"J001", "J002"}


def test_human_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(GOOD))
    assert schedule_from_file(problem, None, 0.5, as_json=False) == 0
    assert "2 of 2 jobs assigned" in capsys.readouterr().out


def test_bad_file_exits_2_naming_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.loads(json.dumps(GOOD))
    bad["jobs"][0]["location"]["lon"] = 200
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(bad))
    assert schedule_from_file(problem, None, 0.5, as_json=False) == 2
    assert "job J001: location.lon" in capsys.readouterr().err
