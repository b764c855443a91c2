"""Console configuration and entry points: keys as data, saved filters, the CLI refusing without a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.queries.console import job_queue, technician_board
from dispatch_tui.cli.commands.console import demo_console_wanted
from dispatch_tui.cli.main import app as cli
from dispatch_tui.keymap import APP_KEYS, load_overrides
from dispatch_tui.screens.jobs import SavedFilters
from dispatch_tui.widgets.job_table import JobTable
from tests.console.conftest import NOW, make_app, settle
from tests.factories import DAY


def test_keymap_overrides_by_binding_id(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('"job.assign" = "ctrl+a"\n')
    assert load_overrides(path) == {"job.assign": "ctrl+a"}
    assert load_overrides(tmp_path / "missing.toml") == {}
    path.write_text('"job.teleport" = "t"\n')
    with pytest.raises(ValueError, match=r"unknown key binding 'job\.teleport'"):
        load_overrides(path)
    path.write_text("not = [toml")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_overrides(path)
    assert len({k.id for k in APP_KEYS}) == len(APP_KEYS)


async def test_rebound_key_runs_the_action(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    app.user_keymap = {"job.pin": "P"}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.screen.query_one(JobTable).move_cursor(row=2)  # J-PLUMB, assigned
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        assert app.status_text.startswith("J-PLUMB pinned")


def test_saved_filters_round_trip_names_with_quotes(tmp_path: Path) -> None:
    saved = SavedFilters(tmp_path)
    saved.save('urgent "hvac"', "hvac")
    saved.save("plumbing", 'tap "leak"')
    assert saved.load() == {'urgent "hvac"': "hvac", "plumbing": 'tap "leak"'}
    (tmp_path / "filters.toml").write_text("[jobs\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        saved.load()


def test_console_needs_a_terminal(world_db: Database) -> None:
    result = CliRunner().invoke(cli, ["--db", world_db.url, "--as", "dana", "console"])
    assert result.exit_code == 2
    assert "needs an interactive terminal" in result.output


def test_demo_opens_the_console_only_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert demo_console_wanted(False) is False
    monkeypatch.setenv("CI", "true")
    assert demo_console_wanted(True) is False  # and under pytest stdin is not a terminal either


def test_read_models_re_read_only_the_given_rows(world_db: Database) -> None:
    everyone = technician_board(world_db, 1, DAY, NOW)
    assert [r.code for r in everyone] == ["T1", "T2", "T3"]
    assert [r.code for r in technician_board(world_db, 1, DAY, NOW, {2})] == ["T2"]
    queue = job_queue(world_db, 1, DAY, NOW)
    ids = {r.ref: r.id for r in queue}
    assert [r.ref for r in job_queue(world_db, 1, DAY, NOW, {ids["J-HVAC"]})] == ["J-HVAC"]
    late = {r.ref: r.risk for r in queue}
    assert late == {"J-ELEC": "late", "J-HVAC": "at risk", "J-PLUMB": ""}
