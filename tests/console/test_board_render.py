"""The schedule board: block placement at each zoom, travel gaps, the now-line, cursor moves, live rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.db import Database
from data.feed import tail
from data.queries.board import BoardJob, BoardTechnician, Interval, board_day
from data.services.jobs import unassign_job
from dispatch_tui.messages import EventsArrived, JobSelected, OpenJob
from dispatch_tui.screens.board import BoardScreen
from dispatch_tui.widgets.schedule_board import (
    ZOOM_SECONDS,
    ScheduleBoard,
    TimeScale,
    block_spans,
    job_label,
    row_cells,
)
from tests.console.test_board_world import ViewHarness, console_context, plan_day, settle
from tests.factories import DAY, DISPATCHER, local

MIDNIGHT = local(0)


def job(
    ref: str, start_h: float, minutes: int, travel: int = 0, priority: int = 3, status: str = "scheduled"
) -> BoardJob:
    start = MIDNIGHT + timedelta(hours=start_h)
    return BoardJob(
        id=hash(ref) % 10_000,
        ref=ref,
        customer="Kallio Bakery Oy",
        summary="",
        type="repair",
        status=status,
        priority=priority,
        start=start,
        end=start + timedelta(minutes=minutes),
        lat=60.17,
        lon=24.94,
        travel_minutes=travel,
    )


def tech(*jobs: BoardJob, absences: tuple[Interval, ...] = (), breaks: tuple[Interval, ...] = ()) -> BoardTechnician:
    return BoardTechnician(
        id=1,
        code="T1",
        name="Tech T1",
        status="available",
        shift_start=local(8),
        shift_end=local(16),
        absences=absences,
        breaks=breaks,
        jobs=jobs,
    )


@pytest.mark.parametrize(("zoom", "start_col", "end_col"), [(0, 144, 160), (1, 72, 80), (2, 36, 40)])
def test_a_one_hour_job_at_nine_spans_the_right_columns_at_each_zoom(zoom: int, start_col: int, end_col: int) -> None:
    scale = TimeScale(MIDNIGHT, ZOOM_SECONDS[zoom])
    [span] = block_spans([job("J1", 9, 60)], scale)
    assert (span.start, span.end) == (start_col, end_col)


def test_travel_gap_is_as_wide_as_the_planned_drive() -> None:
    scale = TimeScale(MIDNIGHT, ZOOM_SECONDS[1])  # 7.5 minutes a column
    [span] = block_spans([job("J1", 9, 60, travel=30)], scale)
    assert span.start - span.travel_from == 4
    cells = row_cells(tech(job("J1", 9, 60, travel=30)), scale, 192)
    assert [c for c, _ in cells[68:72]] == ["·"] * 4
    assert all(style == "travel" for _, style in cells[68:72])


def test_short_travel_still_shows_one_dot_but_never_covers_the_previous_block() -> None:
    scale = TimeScale(MIDNIGHT, ZOOM_SECONDS[2])  # 15 minutes a column
    first, second = job("J1", 9, 60), job("J2", 10, 60, travel=2)
    spans = block_spans([first, second], scale)
    assert spans[1].travel_from == spans[0].end == spans[1].start  # no free column: no dot
    spans = block_spans([first, job("J2", 10.5, 60, travel=2)], scale)
    assert spans[1].start - spans[1].travel_from == 1


def test_row_cells_draw_shift_absence_break_and_p1_flag() -> None:
    scale = TimeScale(MIDNIGHT, ZOOM_SECONDS[1])
    absence = Interval(local(14), local(16), "sick")
    brk = Interval(local(12), local(12, 30), "break")
    cells = row_cells(tech(job("J9", 9, 60, priority=1), absences=(absence,), breaks=(brk,)), scale, 192)
    assert cells[72] == ("!", "job-scheduled+p1")
    assert "".join(c for c, _ in cells[73:80]).startswith("J9 Kal")
    assert cells[60][1] == "off" and cells[66][1] in ("shift", "shift-grid")
    assert {c for c, _ in cells[96:100]} == {"≈"}
    assert {c for c, _ in cells[112:128]} == {"░"}


def test_job_label_truncates_with_an_ellipsis() -> None:
    j = job("J000123", 9, 60)
    assert job_label(j, 5) == "J000…"
    assert job_label(j, 12) == "J000123 Kal…"
    assert job_label(j, 30).rstrip() == "J000123 Kallio Bakery Oy"


async def test_board_cursor_moves_between_blocks_and_technicians(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await screen.loaded.wait()
        await pilot.pause()
        board = screen.board
        assert board.selected_technician().code == "T1" and board.selected_job() is None
        await pilot.press("right")
        assert board.selected_job().ref == refs["p1"]
        await pilot.press("right")
        assert board.selected_job().ref == refs["maint"]
        await pilot.press("right")  # stays on the last block
        assert board.selected_job().ref == refs["maint"]
        await pilot.press("down")
        assert board.selected_technician().code == "T2"
        assert board.selected_job().ref == refs["t2"]  # nearest in time on the new row
        await pilot.press("enter")
        await pilot.pause()
        opened = [m.ref for m in app.seen if isinstance(m, OpenJob)]
        assert opened == [refs["t2"]]
        assert refs["t2"] in [m.ref for m in app.seen if isinstance(m, JobSelected)]


async def test_zoom_keys_change_columns_per_hour_and_keep_the_now_line(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await screen.loaded.wait()
        await pilot.pause()
        board = screen.board
        assert board.zoom == 1
        await pilot.press("plus")
        assert board.zoom == 0 and board.scale is not None and board.scale.cells_per_hour == 16
        await pilot.press("minus", "minus", "minus")
        assert board.zoom == 2 and board.scale is not None and board.scale.cells_per_hour == 4
        # The now-line: 11:30 local is column 46 at 15 minutes a column.
        now_col = board._now_col()
        assert now_col == 46
        x = board.name_width + 1 + now_col - board.view_col
        row_text = board.render_line(3).text
        assert row_text[x] == "│" or board.render_line(3)._segments  # on a block the glyph stays
        assert board.render_line(1).text[x] == "▼"


async def test_events_refresh_only_the_rows_they_touch(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await screen.loaded.wait()
        await pilot.pause()
        board = screen.board
        calls: list[list[str]] = []
        original = board.update_technicians

        def spy(rows):  # type: ignore[no-untyped-def]
            calls.append([r.code for r in rows])
            return original(rows)

        board.update_technicians = spy  # type: ignore[method-assign]
        after = tail(sqlite_db, 0, limit=10_000)[-1].seq
        unassign_job(sqlite_db, DISPATCHER, refs["t2"])
        screen.post_message(EventsArrived(tail(sqlite_db, after)))
        for _ in range(50):
            await pilot.pause(0.05)
            if calls:
                break
        assert calls == [["T2"]]
        t2 = next(t for t in board.technicians if t.code == "T2")
        assert t2.jobs == ()
        assert board_day(sqlite_db, "HEL", DAY).technicians[1].jobs == ()


def test_schedule_board_snapshot_80x24(sqlite_db: Database, snap_compare) -> None:  # type: ignore[no-untyped-def]
    plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await app.screen.loaded.wait()  # type: ignore[attr-defined]
        await pilot.press("right")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_schedule_board_snapshot_160x48(sqlite_db: Database, snap_compare) -> None:  # type: ignore[no-untyped-def]
    plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await app.screen.loaded.wait()  # type: ignore[attr-defined]
        await pilot.press("down", "down", "right")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 48), run_before=ready)


async def test_ascii_board_uses_only_ascii(sqlite_db: Database) -> None:
    plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db, ascii_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await screen.loaded.wait()
        await pilot.pause()
        lines = [screen.board.render_line(y).text for y in range(6)]
        assert all(line.isascii() for line in lines), lines
        assert any("J0" in line for line in lines) and any("|" in line for line in lines)


async def test_clicking_a_block_selects_it_and_double_click_opens_it(sqlite_db: Database) -> None:
    refs = plan_day(sqlite_db)
    app = ViewHarness(BoardScreen, console_context(sqlite_db))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await screen.loaded.wait()
        await pilot.pause()
        board = screen.board
        scale = board.scale
        assert scale is not None
        t2_job = board.technicians[1].jobs[0]
        x = board.name_width + 1 + scale.col(t2_job.start) - board.view_col + 1
        await pilot.click(ScheduleBoard, offset=(x, 2 + 1))
        assert board.selected_technician().code == "T2" and board.selected_job().ref == refs["t2"]
        await pilot.click(ScheduleBoard, offset=(x, 2 + 1), times=2)
        await pilot.pause()
        assert [m.ref for m in app.seen if isinstance(m, OpenJob)] == [refs["t2"]]
