"""The map a dispatcher reads: labels that keep apart, highlights, a key to every glyph, detail by zoom, the credit."""

from __future__ import annotations

from data.db import Database
from data.maps.demo_map import demo_layer
from data.maps.layer import OSM_ATTRIBUTION, BaseLayer, MapLabel, MapLine
from data.queries.board import Bounds, MapJob, MapState, MapTechnician
from data.services.branch_maps import store_branch_map
from dispatch_tui.screens.board import BoardScreen
from dispatch_tui.screens.map import MapScreen
from dispatch_tui.widgets.braille import BrailleCanvas
from dispatch_tui.widgets.map_canvas import MapCanvas, Projection, draw_map, fit, legend_items
from tests.console.conftest import make_app, settle
from tests.console.test_board_world import ViewHarness, console_context, plan_day
from tests.console.test_board_world import settle as settle_view
from tests.factories import ADMIN

BOUNDS = Bounds(60.15, 24.90, 60.20, 25.00)


def state(*techs: MapTechnician, jobs: tuple[MapJob, ...] = (), base: BaseLayer | None = None) -> MapState:
    return MapState("HEL", "Helsinki", BOUNDS, (60.151, 24.901), technicians=techs, jobs=jobs, base=base)


def text_of(canvas: BrailleCanvas) -> str:
    return "\n".join(canvas.plain())


def styles_of(canvas: BrailleCanvas) -> set[str | None]:
    return {canvas.cell(c, r)[1] for r in range(canvas.height) for c in range(canvas.width)}


def test_technicians_are_labelled_and_labels_never_overwrite_each_other() -> None:
    here = (60.175, 24.95)
    s = state(
        MapTechnician(1, "T1", "Aino", "available", *here, None),
        MapTechnician(2, "T2", "Bea", "on_site", *here, None),
        jobs=(MapJob(7, "J7", "Bakery", "new", 2, 60.175, 24.951, 2),),
    )
    p = fit(BOUNDS, 80, 40)
    canvas = draw_map(s, p, 40, 10)
    plain = text_of(canvas)
    assert "T1" in plain and "T2" in plain  # both names whole, placed apart
    col, row = p.to_cell(*here)
    assert canvas.cell(col, row)[0] == "●"  # the marker itself is never covered by a label


def test_selected_job_and_technician_are_highlighted() -> None:
    s = state(
        MapTechnician(1, "T1", "Aino", "en_route", 60.16, 24.92, None, ((60.19, 24.98),)),
        jobs=(MapJob(7, "J7", "Bakery", "new", 3, 60.19, 24.98, 1),),
    )
    p = fit(BOUNDS, 80, 40)
    canvas = draw_map(s, p, 40, 10, selected="T1", selected_job="J7")
    jcol, jrow = p.to_cell(60.19, 24.98)
    assert canvas.cell(jcol, jrow) == ("•", "selected")
    assert "J7" in canvas.plain()[jrow] and " T1 " in text_of(canvas)
    assert "route-stop" in styles_of(canvas)  # the stop is numbered


def test_the_legend_names_every_glyph_the_map_draws() -> None:
    for ascii_only, glyphs in ((False, "●▲◆•⌂"), (True, "@!*+H")):
        runs = [run for item in legend_items(ascii_only) for run in item]
        text = "".join(r.text for r in runs)
        assert all(g in text for g in glyphs), text
        for word in ("free", "driving", "on site", "break", "off", "absent", "P1", "P2", "P3+", "depot", "route"):
            assert word in text


def _street_layer() -> BaseLayer:
    main = MapLine("main-road", ((60.16, 24.91), (60.19, 24.99)))
    street = MapLine("street", ((60.175, 24.94), (60.176, 24.96)))
    levels = ((main,), (main,), (main, street))
    labels = (MapLabel("street", "Lahdentie", 60.1755, 24.95, 5, 2), MapLabel("place", "Kallio", 60.17, 24.93, 2, 0))
    return BaseLayer((60.15, 24.9, 60.2, 25.0), levels, labels, OSM_ATTRIBUTION)


def test_streets_and_their_names_appear_only_when_zoomed_close() -> None:
    s = state(base=_street_layer())
    far = fit(BOUNDS, 80, 40)  # about 140 m a column: the region level
    canvas = draw_map(s, far, 40, 10)
    assert "street" not in styles_of(canvas) and "Lahdentie" not in text_of(canvas)
    assert "main-road" in styles_of(canvas) and "Kallio" in text_of(canvas)
    close = Projection(60.1755, 24.95, km_per_dot=0.004, dot_width=160, dot_height=80)  # 8 m a column
    near = draw_map(s, close, 80, 20)
    assert "street" in styles_of(near) and "Lahdentie" in text_of(near)


def test_place_names_give_way_to_markers() -> None:
    base = BaseLayer((60.15, 24.9, 60.2, 25.0), ((), (), ()), (MapLabel("place", "Kallio", 60.175, 24.95, 2, 0),))
    s = state(MapTechnician(1, "T1", "Aino", "available", 60.175, 24.95, None), base=base)
    p = fit(BOUNDS, 80, 40)
    canvas = draw_map(s, p, 40, 10)
    col, row = p.to_cell(60.175, 24.95)
    assert canvas.cell(col, row)[0] == "●"
    line = canvas.plain()[row]
    assert "Kallio" not in line or line.index("Kallio") > col + 2 or line.index("Kallio") + 6 <= col


async def test_map_credits_openstreetmap_and_paints_no_band_after_markers(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    store_branch_map(sqlite_db, ADMIN, "HEL", demo_layer(), None)
    app = ViewHarness(MapScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MapScreen)
        await screen.loaded.wait()
        await pilot.press("t")
        await settle_view(pilot)
        canvas = screen.canvas
        assert "© OpenStreetMap contributors" in canvas.render_line(0).text
        ground = canvas.rich_style.bgcolor
        for y in range(1, canvas.canvas_size.height + 1):
            for segment in canvas.render_line(y):
                if segment.style is None or segment.style.bgcolor == ground:
                    continue
                # Only the highlighted marker or label itself has a background of its own.
                assert segment.text.strip(), f"row {y}: a blank band {segment.text!r} on {segment.style.bgcolor}"
                assert len(segment.text) <= 8, f"row {y}: {segment.text!r}"


async def test_the_map_opens_on_the_technician_selected_on_the_board(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = make_app(sqlite_db, start_view="board")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, BoardScreen)
        await pilot.press("down")
        await settle(app, pilot)
        chosen = app.screen.technician_target()
        assert chosen is not None and chosen != "T1"
        await pilot.press("4")
        await settle(app, pilot)
        assert isinstance(app.screen, MapScreen)
        assert app.screen.query_one(MapCanvas).selected == chosen


def test_find_matches_ref_then_technician_then_customer_then_address() -> None:
    s = state(
        MapTechnician(1, "T1", "Aino Virtanen", "available", 60.16, 24.92, None),
        jobs=(MapJob(7, "J7", "Bakery Oy", "new", 2, 60.19, 24.98, None, "Fleminginkatu 3, Helsinki"),),
    )
    assert s.find("j7") is not None and s.find("j7").key == "J7"  # type: ignore[union-attr]
    assert s.find("virtanen").key == "T1"  # type: ignore[union-attr]
    assert s.find("bakery").key == "J7"  # type: ignore[union-attr]
    assert s.find("fleminginkatu").key == "J7"  # type: ignore[union-attr]
    assert s.find("nowhere") is None


async def test_slash_finds_a_job_and_centres_the_map_on_it(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    app = ViewHarness(MapScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MapScreen)
        await screen.loaded.wait()
        await pilot.press("slash")
        await pilot.press(*"nowhere", "enter")
        await settle_view(pilot)
        assert "matches 'nowhere'" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.press("slash")
        await pilot.press(*refs["open"], "enter")
        await settle_view(pilot)
        canvas = screen.canvas
        assert canvas.selected_job == refs["open"]
        job = next(j for j in canvas.state.jobs if j.ref == refs["open"])  # type: ignore[union-attr]
        projection = canvas.projection()
        assert projection is not None
        x, y = projection.to_dot(job.lat, job.lon)
        assert abs(x - projection.dot_width / 2) <= 2 and abs(y - projection.dot_height / 2) <= 2
