"""Errors are one line each whatever the terminal's width or the path's length (scripts grep them, tests too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch_tui.cli.schedule_file import schedule_from_file

LONG = "a-folder-with-a-long-name-" * 6


def _dispatch(*args: str, columns: int = 40) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "10", "TERM": "xterm-256color"}
    command = [str(Path(sys.executable).parent / "dispatch"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_cli_error_on_a_40_column_terminal_is_one_line_with_the_whole_path(tmp_path: Path) -> None:
    missing = tmp_path / LONG / "jobs [2026].csv"
    result = _dispatch("--db", str(tmp_path / "x.sqlite"), "import", "jobs", str(missing))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"error: {missing}: no such file"]


def test_a_problem_file_error_is_one_line_on_a_narrow_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    folder = tmp_path / LONG
    folder.mkdir()
    problem = folder / "p.json"
    problem.write_text(json.dumps({"format": "dispatch.problem/1", "technicians": [], "jobs": []}))
    assert schedule_from_file(problem, None, 0.5, as_json=False) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {problem}: problem: ") and "horizon_start" in line
