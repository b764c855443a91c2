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


def test_a_file_that_is_not_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = tmp_path / "p.json"
    problem.write_bytes(json.dumps(GOOD).replace("two technicians", "caf\xe9").encode("latin-1"))
    assert schedule_from_file(problem, None, 0.5, as_json=False) == 2
    assert "not UTF-8 text (invalid continuation byte at byte" in capsys.readouterr().err


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_exits_2_naming_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], number: str
) -> None:
    text = json.dumps(GOOD).replace('"lat": 60.18', f'"lat": {number}', 1)
    assert number in text
    problem = tmp_path / "p.json"
    problem.write_text(text)
    assert schedule_from_file(problem, None, 0.5, as_json=False) == 2
    assert "job J001: location.lat: " in capsys.readouterr().err.replace("\n", "")
