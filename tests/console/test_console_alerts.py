"""The console tells the dispatcher what changed: sick calls, lateness, dead letters, others' edits, the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from data.db import Database
from data.feed import EventRecord, last_seq, tail
from data.models import JobType
from data.models.workforce import AbsenceKind
from data.services.jobs import JobDraft, assign_job, create_job, unassign_job
from data.services.technicians import mark_absent
from dispatch_tui.feed_source import FakeFeed
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.screens.jobs import JobsScreen
from tests.console.conftest import make_app, settle, until
from tests.factories import ADMIN, DISPATCHER, local


def alerts(app: Any) -> list[str]:
    return [line.text for line in app.messages if line.notified]


async def test_a_sick_call_says_which_jobs_need_a_new_technician(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        before = last_seq(world_db)
        mark_absent(world_db, ADMIN, "T2", AbsenceKind.SICK, local(10), local(18))  # called in by the field app
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: any("T2" in a for a in alerts(app)))
        assert "T2 is sick until 18:00: 1 job(s) need a new technician: J-PLUMB (R re-plans)" in alerts(app)


async def test_a_job_becoming_late_is_announced_once(world_db: Database) -> None:
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert alerts(app) == []  # what was late at start is in the queue's first rows, not a flood of alerts
        app.ctx.clock = lambda: local(12, 5)  # J-HVAC's SLA (12:00) has passed
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        screen.reload()
        await settle(app, pilot)
        assert alerts(app) == ["J-HVAC is now late"]
        screen.reload()
        await settle(app, pilot)
        assert alerts(app) == ["J-HVAC is now late"]


async def test_a_dead_lettered_delivery_is_announced(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dead = EventRecord(
            seq=last_seq(world_db) + 1,
            at=datetime(2026, 11, 25, 8, 40, tzinfo=UTC),
            type="delivery.dead_lettered",
            subject_type="delivery",
            subject_id="17",
            payload={"connector": "hubspot", "event_type": "job.completed", "attempts": 8, "error": "HTTP 500"},
            actor="worker",
            source="worker",
        )
        await feed.push([dead])
        await until(pilot, lambda: alerts(app))
        assert alerts(app) == [
            "delivery 17 (job.completed to hubspot) gave up after 8 attempts: HTTP 500 (6: deliveries)"
        ]


async def test_another_dispatcher_changing_the_job_on_screen_is_announced(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed, start_view="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"job J-PLUMB", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, JobDetailScreen)
        before = last_seq(world_db)
        assign_job(world_db, ADMIN, "J-PLUMB", "T2", local(12), reassign=True)
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: alerts(app))
        assert alerts(app) == ["J-PLUMB, which you are looking at, was just changed by ada (job.assigned)"]


async def test_the_title_shows_the_time_in_the_branch_zone(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        assert "Wed 25 Nov 10:30" in app.title_text


async def test_jobs_another_dispatcher_puts_back_in_the_queue_are_announced_and_counted_on_the_jobs_tab(
    world_db: Database,
) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed)
    async with app.run_test(size=(160, 24)) as pilot:
        await settle(app, pilot)
        before = last_seq(world_db)
        unassign_job(world_db, ADMIN, "J-PLUMB")
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: alerts(app))
        assert alerts(app) == ["1 job(s) back in the queue, unassigned by ada: J-PLUMB"]
        assert "2 Jobs(1)" in app.title_text
        await pilot.press("2")
        await settle(app, pilot)
        assert "[2 Jobs]" in app.title_text and "(1)" not in app.title_text


async def test_a_sick_call_is_counted_once_though_its_jobs_are_unassigned_after_it(world_db: Database) -> None:
    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed)
    async with app.run_test(size=(160, 24)) as pilot:
        await settle(app, pilot)
        before = last_seq(world_db)
        mark_absent(world_db, ADMIN, "T2", AbsenceKind.SICK, local(10), local(18))
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: alerts(app))
        before = last_seq(world_db)
        unassign_job(world_db, ADMIN, "J-PLUMB")  # what the office (or the simulator) does next
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: app.feed_state.last_seq == last_seq(world_db))
        await settle(app, pilot)
        assert len(alerts(app)) == 1
        assert "2 Jobs(1)" in app.title_text


async def test_a_job_the_clock_puts_at_risk_moves_up_the_queue_without_waiting_for_a_full_refresh(
    world_db: Database, monkeypatch: Any
) -> None:
    monkeypatch.setattr("dispatch_tui.screens.jobs.FULL_REFRESH_SECONDS", 3600.0)
    create_job(
        world_db,
        DISPATCHER,
        JobDraft(
            JobType.REPAIR,
            "S1",
            "Filter swap",
            30,
            priority=4,
            ref="J-LATER",
            created_at=local(8),
            sla_due=local(12, 45),
        ),
    )
    assign_job(world_db, DISPATCHER, "J-LATER", "T1", local(11, 30))
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(160, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)

        def order() -> list[str | None]:
            return screen.table.shown_keys

        assert order()[-1] == "J-LATER"
        app.ctx.clock = lambda: local(10, 50)  # 1 h 55 min before its SLA: at risk from 10:45
        await until(pilot, lambda: order().index("J-LATER") < order().index("J-PLUMB"))  # at risk above the rest
        await until(pilot, lambda: alerts(app) == ["J-LATER is now at risk"])


async def test_a_technicians_message_is_announced_and_counted_unread(world_db: Database) -> None:
    from data.services.api_tokens import authenticate, issue_token
    from data.services.messages import read_thread
    from data.services.sync import ClientEventType, MessageText, apply_now

    feed = FakeFeed(last_seq(world_db))
    app = make_app(world_db, feed=feed)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        assert app.unread_messages == 0 and "unread" not in app.title_text
        t2 = authenticate(world_db, issue_token(world_db, ADMIN, "T2").secret).actor
        before = last_seq(world_db)
        apply_now(world_db, t2, "T2", ClientEventType.MESSAGE, MessageText("Tap needs a new valve"), job_ref="J-PLUMB")
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: app.unread_messages == 1)
        assert "message from T2 on J-PLUMB: Tap needs a new valve (dispatch messages list)" in alerts(app)
        assert "1 unread" in app.title_text
        read_thread(world_db, app.ctx.actor, job_ref="J-PLUMB")
        before = last_seq(world_db)
        apply_now(world_db, t2, "T2", ClientEventType.MESSAGE, MessageText("Done"), job_ref="J-PLUMB")
        await feed.push(tail(world_db, before))
        await until(pilot, lambda: any("Done" in a for a in alerts(app)))
        await until(pilot, lambda: "1 unread" in app.title_text)  # the first one was read meanwhile
