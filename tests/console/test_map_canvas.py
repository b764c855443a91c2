"""The map: braille pixels and lines, the projection, the scale bar, markers, zoom, pan and live positions."""

from __future__ import annotations

import math

import pytest

from data.db import Database
from data.feed import EventRecord
from data.maps.demo_map import demo_layer
from data.queries.board import Bounds, MapJob, MapState, MapTechnician
from data.services.branch_maps import store_branch_map
from dispatch_tui.messages import EventsArrived, TechnicianSelected
from dispatch_tui.screens.map import MapScreen
from dispatch_tui.widgets.braille import BrailleCanvas, ascii_glyph
from dispatch_tui.widgets.map_canvas import Projection, draw_map, fit, format_km, scale_bar
from tests.console.conftest import until
from tests.console.test_board_world import NOW, ViewHarness, console_context, plan_day, settle
from tests.factories import ADMIN


def test_each_dot_sets_its_braille_bit() -> None:
    canvas = BrailleCanvas(2, 1)
    canvas.set(0, 0)
    assert canvas.plain() == ["⠁ "]
    canvas.set(1, 3)
    assert canvas.plain() == ["⢁ "]
    canvas.set(3, 2)
    assert canvas.plain()[0][1] == "⠠"
    canvas.set(99, 99)  # off the canvas: ignored
    assert canvas.is_set(1, 3) and not canvas.is_set(0, 1)


def test_bresenham_line_lights_both_ends_and_a_straight_run() -> None:
    canvas = BrailleCanvas(4, 1)
    canvas.line(0, 1, 7, 1)
    assert all(canvas.is_set(x, 1) for x in range(8))
    assert not any(canvas.is_set(x, 0) for x in range(8))
    diagonal = BrailleCanvas(2, 1)
    diagonal.line(0, 0, 3, 3)
    assert [diagonal.is_set(i, i) for i in range(4)] == [True] * 4


def test_ascii_fallback_uses_halves_of_the_cell() -> None:
    canvas = BrailleCanvas(3, 1, ascii_only=True)
    canvas.set(0, 0)
    canvas.set(2, 3)
    canvas.set(4, 0)
    canvas.set(4, 3)
    assert canvas.plain() == ["'.:"]
    assert ascii_glyph(0) == " "


def test_text_overlay_wins_and_styles_group_into_runs() -> None:
    canvas = BrailleCanvas(4, 1)
    canvas.line(0, 0, 7, 0, "road")
    canvas.text(1, 0, "AB", "label")
    runs = canvas.row_runs(0)
    assert [(r.text, r.style) for r in runs] == [("⠉", "road"), ("AB", "label"), ("⠉", "road")]


def test_projection_scales_east_west_by_cos_latitude() -> None:
    p = Projection(60.0, 25.0, km_per_dot=0.1, dot_width=200, dot_height=100)
    assert p.to_dot(60.0, 25.0) == (100, 50)
    # One degree of longitude at 60°N is about 55.7 km: 557 dots at 100 m a dot.
    x, _ = p.to_dot(60.0, 26.0)
    assert x - 100 == pytest.approx(111.32 * math.cos(math.radians(60)) / 0.1, abs=1)
    _, y = p.to_dot(60.1, 25.0)
    assert 50 - y == pytest.approx(110.574 * 0.1 / 0.1, abs=1)
    lat, lon = p.to_latlon(100, 50)
    assert (lat, lon) == pytest.approx((60.0, 25.0))


def test_fit_shows_the_whole_bounds() -> None:
    bounds = Bounds(60.15, 24.85, 60.26, 25.17)
    p = fit(bounds, 156, 80)
    for lat, lon in ((60.15, 24.85), (60.26, 25.17)):
        x, y = p.to_dot(lat, lon)
        assert -1 <= x <= 156 and -1 <= y <= 80


@pytest.mark.parametrize(
    ("km_per_cell", "max_cells", "km", "cells"),
    [(0.25, 20, 5.0, 20), (0.3, 20, 5.0, 17), (1.0, 15, 10.0, 10), (0.02, 20, 0.2, 10)],
)
def test_scale_bar_picks_a_round_distance_that_fits(km_per_cell: float, max_cells: int, km: float, cells: int) -> None:
    assert scale_bar(km_per_cell, max_cells) == (km, cells)
    assert format_km(0.2) == "200 m" and format_km(5.0) == "5 km"


def small_state() -> MapState:
    return MapState(
        branch_code="HEL",
        branch_name="Helsinki",
        bounds=Bounds(60.15, 24.90, 60.20, 25.00),
        depot=(60.17, 24.94),
        technicians=(
            MapTechnician(1, "T1", "Tech T1", "en_route", 60.16, 24.92, None, ((60.18, 24.95), (60.19, 24.98))),
        ),
        jobs=(MapJob(7, "J7", "Bakery", "new", 1, 60.19, 24.98, None),),
    )


def test_draw_map_places_markers_and_the_selected_route() -> None:
    state = small_state()
    p = fit(state.bounds, 80, 40)
    canvas = draw_map(state, p, 40, 10, selected="T1")
    col, row = p.to_cell(60.16, 24.92)
    assert canvas.cell(col, row) == ("●", "tech-en_route")
    jcol, jrow = p.to_cell(60.19, 24.98)
    assert canvas.cell(jcol, jrow) == ("▲", "job-p1-open")
    assert canvas.cell(jcol + 1, jrow)[0] == "2"  # second stop of the route is numbered
    assert any(style == "route" for r in range(10) for c in range(40) for _, style in [canvas.cell(c, r)])
    plain = draw_map(state, p, 40, 10, ascii_only=True)
    assert plain.cell(col, row)[0] == "@" and plain.cell(jcol, jrow)[0] == "!"


async def test_map_zoom_pan_and_live_positions(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(MapScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MapScreen)
        await screen.loaded.wait()
        await pilot.pause()
        canvas = screen.canvas
        before = canvas.projection()
        assert before is not None
        await pilot.press("plus")
        zoomed = canvas.projection()
        assert zoomed is not None and zoomed.km_per_dot == pytest.approx(before.km_per_dot / 1.5)
        await pilot.press("right")
        panned = canvas.projection()
        assert panned is not None and panned.center_lon > zoomed.center_lon
        await pilot.press("0")
        assert canvas.projection() == before
        await pilot.press("t")
        await pilot.pause()
        assert canvas.selected == "T1"
        assert [m.code for m in app.seen if isinstance(m, TechnicianSelected)][-1] == "T1"
        event = EventRecord(
            999,
            NOW,
            "technician.position",
            "technician",
            "1",
            {"code": "T1", "lat": 60.178, "lon": 24.945},
            "field",
            "api",
        )
        screen.post_message(EventsArrived([event]))

        col, row = before.to_cell(60.178, 24.945)

        def moved() -> bool:
            tech = canvas.selected_technician()
            placed = tech is not None and (tech.lat, tech.lon) == (60.178, 24.945)
            return placed and canvas.render_line(row + 1).text[col] == "●"

        await until(pilot, moved)  # the tick that applies the batch, and the repaint, however slow the machine


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_map_snapshot(sqlite_db: Database, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    plan_day(sqlite_db)
    store_branch_map(sqlite_db, ADMIN, "HEL", demo_layer(), None)  # the shipped OpenStreetMap + GSHHG layer
    app = ViewHarness(MapScreen, console_context(sqlite_db))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await app.screen.loaded.wait()  # type: ignore[attr-defined]
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
