"""A branch with an imported road graph plans on road times; the validator re-checks against the same provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.db import Database
from data.errors import InvalidInput
from data.maps.osm_extract import read_extract
from data.models import JobType
from data.planning import load_day, schedule_day
from data.services.branch_maps import store_branch_map
from data.services.jobs import JobDraft, create_job
from optimizer.road_travel import RoadTravel
from optimizer.validate import validate
from tests.factories import ADMIN, DAY, DISPATCHER, build_world, local
from tests.maps.extract import write_bay_extract


def _with_bay_map(db: Database, tmp_path: Path) -> None:
    build_world(db)
    extracted = read_extract(write_bay_extract(tmp_path / "bay.osm.pbf"))
    store_branch_map(db, ADMIN, "HEL", extracted.layer, extracted.graph)
    for i in range(3):
        create_job(
            db,
            DISPATCHER,
            JobDraft(JobType.REPAIR, f"S{i + 1}", f"Job {i}", 45, skills={"hvac": 1}, window_start=local(8),
                     window_end=local(16)),
        )  # fmt: skip


def test_a_branch_with_a_road_graph_plans_on_road_times(sqlite_db: Database, tmp_path: Path) -> None:
    _with_bay_map(sqlite_db, tmp_path)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    travel = planning.problem.travel
    assert isinstance(travel, RoadTravel)
    assert validate(planning.problem, plan).violations == []
    assert travel.coverage.locations > 0  # the matrix was asked of the road graph (most of it outside the bay)


def test_straight_line_is_chosen_in_configuration(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_bay_map(sqlite_db, tmp_path)
    monkeypatch.setenv("DISPATCH_TRAVEL", "straight")
    assert load_day(sqlite_db, DAY, "HEL").problem.travel is None
    monkeypatch.setenv("DISPATCH_TRAVEL", "teleport")
    with pytest.raises(InvalidInput, match="DISPATCH_TRAVEL: 'teleport' is not one of road, straight"):
        load_day(sqlite_db, DAY, "HEL")


def test_without_a_map_the_branch_keeps_straight_line(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    assert load_day(sqlite_db, DAY, "HEL").problem.travel is None
