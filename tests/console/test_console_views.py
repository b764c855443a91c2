"""Pilot tests of the console's own views: technicians, jobs, job detail, help, command line, palette."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from data.db import Database
from dispatch_tui.commands_palette import ActionsProvider
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen, SavedFilters
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.command_line import CommandError, parse_command
from dispatch_tui.widgets.job_table import JobTable
from dispatch_tui.widgets.technician_table import TechnicianTable, load_bar
from tests.console.conftest import NOW, make_app, settle


def cells(table: TechnicianTable | JobTable, key: str) -> list[str]:
    return [c.plain for c in table.get_row(key)]


async def test_title_bar_names_user_role_branch_and_day(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.title_text.startswith("dana · dispatcher · HEL · Wed 25 Nov")
        assert "[1 Techs]" in app.title_text
        assert "feed: fake (seq 0)" in app.freshness_text
        assert app.freshness_text.startswith("updated 10:30:00")


async def test_technicians_view_shows_status_next_job_lateness_load_and_skills(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TechniciansScreen)
        table = screen.table
        assert table.row_count == 3
        t2 = cells(table, "T2")
        assert t2[1] == "off"
        assert t2[3] == "J-PLUMB 11:00"  # next job at 11:00 local
        assert t2[4] == "on time"  # now is 10:30
        assert t2[5] == "▊" + " " * 7 + "  10%"  # 45 of 450 minutes: 0.8 of 8 cells
        assert t2[7] == "plumbing2"
        assert cells(table, "T1")[4] == "-"  # nothing planned
        assert app.selected_technician == "T1"


async def test_technicians_sort_and_filter(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TechnicianTable)
        await pilot.press("o", "o", "o")  # code -> status -> late -> load
        assert table.sort_by == "load"
        assert table.key_at(0) == "T2"  # the only loaded technician
        await pilot.press("slash", "h", "v", "a", "c")
        assert sorted(table.rows) == ["T1", "T3"]
        await pilot.press("escape")
        assert table.row_count == 3


async def test_jobs_queue_puts_late_then_at_risk_then_unassigned_first(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        table = screen.table
        order = table.shown_keys
        assert order == ["J-ELEC", "J-HVAC", "J-PLUMB"]  # SLA passed, SLA within 2 h, planned
        elec = cells(table, "J-ELEC")
        assert elec[1:5] == ["1", "late", "10:00", "-"]
        assert cells(table, "J-HVAC")[2] == "at risk"
        assert cells(table, "J-PLUMB")[4] == "T2"
        assert cells(table, "J-HVAC")[8] == "2h"  # created 08:00, now 10:30
        assert app.selected_job == "J-ELEC"


async def test_jobs_filter_and_saved_filters(world_db: Database, tmp_path: Path) -> None:
    app = make_app(world_db, start_view="jobs", tmp_config=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(JobTable)
        await pilot.press("slash", *"plumb", "enter")
        assert table.shown_keys == ["J-PLUMB"]
        await pilot.press("F", *"water", "enter")
        await settle(app, pilot)
        assert SavedFilters(tmp_path).load() == {"water": "plumb"}
        await pilot.press("escape")
        assert table.row_count == 3
        await pilot.press("f")
        assert table.shown_keys == ["J-PLUMB"]
        assert "filter 'water'" in app.status_text
    assert (tmp_path / "filters.toml").read_text().startswith("[jobs]")


async def test_job_detail_shows_everything_before_a_phone_call(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "enter")  # J-HVAC
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        assert screen.detail is not None
        d = screen.detail
        assert d.ref == "J-HVAC" and d.customer_name == "Kallio Bakery Oy"
        assert d.warranty == "under warranty until 2027-05-01"
        assert d.contract is not None and d.contract.startswith("K1 Gold: 8 h response")
        assert [e.type for e in d.history] == ["job.created"]
        assert app.selected_job == "J-HVAC"
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(screen.render_detail(d))
        body = console.export_text()
        assert "Heat pump [noisy] fan" in body  # brackets are data, not markup
        for wanted in ("Kallio Bakery Oy (C1)", "Site 1 (S1), Fleminginkatu 1", "heat pump NIBE F2120", "History"):
            assert wanted in body
        await pilot.press("escape")
        assert isinstance(app.screen, JobsScreen)


async def test_single_keys_and_command_line_switch_views(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("1")
        assert isinstance(app.screen, TechniciansScreen)
        await pilot.press("colon", *"jobs", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("colon", *"job J-PLUMB", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, JobDetailScreen) and app.screen.ref == "J-PLUMB"
        await pilot.press("colon", *"tech T3", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, TechniciansScreen)
        assert app.selected_technician == "T3"
        await pilot.press("colon", *"nonsense", "enter")
        await settle(app, pilot)
        assert app.status_level == "error" and "unknown command ':nonsense'" in app.status_text


async def test_help_lists_every_key(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, TechniciansScreen)


async def test_palette_provider_lists_every_action(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        provider = ActionsProvider(app.screen)
        labels = [str(hit.text) async for hit in provider.discover()]
        for wanted in ("Assign [a]", "Unassign [x]", "Re-plan [R]", "Undo [u]", "Jobs [2]", "Command [:]"):
            assert wanted in labels
        hits = [hit async for hit in provider.search("assign")]
        assert hits
        await hits[0].command()
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PickList"  # the assign picker for the selected job


def test_command_parser() -> None:
    assert parse_command(":jobs").args == ("jobs",)
    assert parse_command("cal").args == ("calendar",)
    assert parse_command(":job J000123").args == ("J000123",)
    assert parse_command(":q").name == "quit"
    for bad, message in ((":", "type a command"), (":fly", "unknown command"), (":job", "needs REF")):
        try:
            parse_command(bad)
        except CommandError as e:
            assert message in str(e)
        else:
            raise AssertionError(f"{bad!r} parsed")


def test_load_bar_in_eighths_and_ascii() -> None:
    assert load_bar(0.5) == "████    "
    assert load_bar(1 / 16) == "▌       "
    assert load_bar(2.0) == "████████"
    assert load_bar(0.5, ascii_only=True) == "####...."


async def test_plugged_views_open_on_their_keys(world_db: Database) -> None:
    """The board, map and calendar (when this build has them) open on 3, 4, 5 with the same context."""
    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key, name in (("3", "board"), ("4", "map"), ("5", "calendar")):
            if name not in app.available_views:
                continue
            await pilot.press(key)
            await settle(app, pilot)
            assert app.current_view == name
            assert app.screen is app.views[name]
            assert f"[{key} " in app.title_text
        await pilot.press("1")
        assert isinstance(app.screen, TechniciansScreen)


async def test_deliveries_view_lists_what_the_worker_sent(world_db: Database) -> None:
    from dispatch_tui.screens.deliveries import DeliveriesScreen
    from dispatch_tui.widgets.keyed_table import KeyedTable

    app = make_app(world_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("6")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DeliveriesScreen)
        assert screen.loaded.is_set()
        assert screen.query_one(KeyedTable).row_count == 0  # no connector configured: nothing sent
        assert "[6 Deliv]" in app.title_text


async def test_free_now_filter_keeps_the_free_soonest_first(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TechniciansScreen)
        await pilot.press("f")
        await pilot.pause()
        order = screen.table.shown_keys[:3]
        assert screen.free_order == order
        assert order == ["T1", "T2", "T3"]  # at 10:30 all free (T2 until J-PLUMB at 11:00)
        assert "3 free now, 0 free later today" in app.status_text
        await pilot.press("f")
        await pilot.pause()
        assert screen.free_order is None and screen.table.row_count == 3


async def test_slots_command_lists_windows_to_promise(world_db: Database) -> None:
    from dispatch_tui.screens.slots import SlotsScreen

    app = make_app(world_db)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await app.run_command(":slots S1 plumbing1 45")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SlotsScreen)
        assert screen.offers and {o.technician for o in screen.offers} == {"T2"}  # the only plumber
        assert screen.offers[0].window_start >= NOW
        await pilot.press("escape")
        await app.run_command(":slots S1 plumbing1 soon")
        assert "minutes on site" in app.status_text
        await app.run_command(":slots S9")
        await settle(app, pilot)
        assert "S9" in app.status_text


async def test_command_line_links_jobs(world_db: Database) -> None:
    from data.queries.console import job_detail

    app = make_app(world_db)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await app.run_command(":depend J-HVAC J-PLUMB 30")
        await settle(app, pilot)
        assert "J-HVAC starts at least 30 min after J-PLUMB ends" in app.status_text
        await app.run_command(":crew J-ELEC 2")
        await settle(app, pilot)
        assert "needs a crew of 2" in app.status_text
        await app.run_command(":visits J-ELEC 2")
        await settle(app, pilot)
        assert "J-ELEC takes 2 days" in app.status_text
        await app.run_command(":crew J-ELEC many")
        assert "not a whole number" in app.status_text
        await app.run_command(":depend J-HVAC -")
        await settle(app, pilot)
        assert "waits for no job" in app.status_text
    links = job_detail(world_db, "J-ELEC", NOW).links
    assert links[0] == "crew of 2: -, -" and links[1].startswith("day 1 of 2")
