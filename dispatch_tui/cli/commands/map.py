"""`dispatch map import FILE.osm.pbf`: a branch's base layer and road graph from an OpenStreetMap extract."""

from __future__ import annotations

from pathlib import Path

import typer

from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json

map_app = typer.Typer(help="Maps: import an OpenStreetMap extract as a branch's base layer and road graph.")


@map_app.command("import")
@handles_errors
def import_map(
    path: Path = typer.Argument(..., help="An OpenStreetMap extract (.osm.pbf, e.g. from Geofabrik or BBBike)."),
    branch: str | None = typer.Option(
        None, "--branch", help="Branch code (default: the one branch whose depot the extract covers)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was stored as JSON."),
) -> None:
    """Read the extract (coast, water, roads by class, rail, parks, place and street names; the road graph; the
    address points sites without coordinates are geocoded from) and keep it as the branch's map, replacing any
    earlier import. A file that is not an extract exits 2."""
    from data.maps.osm_extract import read_extract
    from data.services.branch_maps import store_branch_map
    from dispatch_tui.cli.progress import progress_bar

    with progress_bar(f"reading {path.name}", total=4) as bar:
        extracted = read_extract(path, progress=lambda stage, done, total: bar.describe(stage, done))
        bar.describe("storing", 4)
        stored = store_branch_map(db(), actor(), branch, extracted.layer, extracted.graph, extracted.addresses)
    if as_json:
        print_json(stored.__dict__)
        return
    out.print(
        f"branch {stored.branch}: map from {stored.source} ({stored.layer_bytes / 1024:,.0f} KB), "
        f"road graph {stored.road_nodes:,} junctions, {stored.road_edges:,} road links "
        f"({stored.graph_bytes / 1024:,.0f} KB), {stored.addresses:,} address points",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(map_app, name="map")
