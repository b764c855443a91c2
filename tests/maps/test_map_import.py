"""`dispatch map import`: an extract becomes the branch's map and road graph; bad input exits 2, writing nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from data.maps.layer import DETAIL_LEVELS, OSM_ATTRIBUTION, level_for
from data.queries.board import map_state
from data.queries.branch_maps import branch_layer, branch_road_graph
from dispatch_tui.cli.main import app
from tests.factories import build_world
from tests.maps.extract import write_bay_extract

runner = CliRunner()


def test_import_stores_the_layer_and_graph_for_the_branch_whose_depot_it_covers(
    sqlite_db: Database, tmp_path: Path
) -> None:
    build_world(sqlite_db)
    extract = write_bay_extract(tmp_path / "bay.osm.pbf")
    result = runner.invoke(app, ["--db", sqlite_db.url, "--as", "ada", "map", "import", str(extract)])
    assert result.exit_code == 0, result.output
    assert "branch HEL: map from bay.osm.pbf" in result.stdout
    layer = branch_layer(sqlite_db, "HEL")
    assert layer is not None and layer.attribution == OSM_ATTRIBUTION
    region, _, street = (layer.lines_at(i) for i in range(len(DETAIL_LEVELS)))
    assert {line.kind for line in region} == {"coast", "main-road"}  # streets and parks wait for a closer zoom
    assert {"street", "park", "road"} <= {line.kind for line in street}
    assert {(lb.kind, lb.name) for lb in layer.labels} >= {("place", "Testilä"), ("street", "Lahdentie")}
    graph = branch_road_graph(sqlite_db, "HEL")
    assert graph is not None and graph.edge_count > 0
    assert [e.type for e in tail(sqlite_db)][-1] == "branch.map_imported"
    assert map_state(sqlite_db, "HEL", date(2026, 11, 25)).base == layer


def test_detail_levels_switch_with_scale() -> None:
    assert level_for(1.0) == 0
    assert level_for(0.1) == 1
    assert level_for(0.01) == len(DETAIL_LEVELS) - 1


def test_a_bad_file_exits_2_naming_it_and_stores_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    bad = tmp_path / "finland.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot an extract")
    before = tail(sqlite_db)
    result = runner.invoke(app, ["--db", sqlite_db.url, "--as", "ada", "map", "import", str(bad)])
    assert result.exit_code == 2
    assert "finland.osm.pbf: not a readable OpenStreetMap extract" in result.stderr
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["--db", sqlite_db.url, "--as", "ada", "map", "import", str(tmp_path / "x.pbf")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert tail(sqlite_db) == before and branch_layer(sqlite_db, "HEL") is None


def test_an_unknown_branch_is_refused_by_name(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    extract = write_bay_extract(tmp_path / "bay.osm.pbf")
    result = runner.invoke(
        app, ["--db", sqlite_db.url, "--as", "ada", "map", "import", str(extract), "--branch", "NOPE"]
    )
    assert result.exit_code == 2
    assert "unknown branch 'NOPE' (known: HEL)" in result.stderr
