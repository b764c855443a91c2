"""Customer reminders against a real local SMTP server (aiosmtpd) and a fake SMS provider: sent once, never twice."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from standardwebhooks import Webhook

from data.db import Database
from data.errors import InvalidInput
from data.feed import tail
from data.models import Contact, Customer, JobStatus
from data.models.reminders import ReminderChannel, ReminderKind, ReminderSent, ReminderStatus
from data.services.jobs import change_status
from integrations.reminders import runner
from integrations.reminders.channels import Channel, EmailChannel, SmsWebhookChannel
from integrations.reminders.runner import claim, run_once
from integrations.reminders.settings import ReminderSettings, SmsWebhookSettings, SmtpSettings, load_settings
from integrations.reminders.templates import Templates
from tests.factories import DISPATCHER, build_world
from tests.integrations.test_field_api_world import at, dispatched_job

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"  # base64 of a test secret


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class SmsProvider:
    """A fake SMS provider that checks every request's Standard Webhooks signature."""

    def __init__(self, status: int = 202) -> None:
        self.received: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = Webhook(SECRET).verify(request.content, dict(request.headers))
        self.received.append(body)
        self.ids.append(request.headers["webhook-id"])
        return httpx.Response(self.status, json={"queued": True})


@pytest.fixture
def world(sqlite_db: Database) -> dict[str, str]:
    build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        customer = s.scalar(select(Customer).where(Customer.code == "C1"))
        assert customer is not None
        s.add(
            Contact(
                customer_id=customer.id,
                name="Anna Asiakas",
                email="anna@kallio.example",
                phone="+358401234567",
                primary=True,
            )
        )
        s.commit()
    return {"job": dispatched_job(sqlite_db, "T1", 9)}


def settings_for(port: int | None, sms: bool = False, **kw: Any) -> ReminderSettings:
    return ReminderSettings(
        smtp=SmtpSettings("127.0.0.1", port, starttls=False, from_addr="Dispatch <noreply@dispatch.example>")
        if port
        else None,
        sms=SmsWebhookSettings("https://sms.example/hook", SECRET) if sms else None,
        **kw,
    )


def channels(settings: ReminderSettings, provider: SmsProvider | None = None) -> dict[ReminderChannel, Channel]:
    found: dict[ReminderChannel, Channel] = {}
    if settings.smtp:
        found[ReminderChannel.EMAIL] = EmailChannel(settings.smtp)
    if settings.sms and provider:
        found[ReminderChannel.SMS] = SmsWebhookChannel(
            settings.sms, httpx.Client(transport=httpx.MockTransport(provider))
        )
    return found


def test_day_before_email_goes_through_smtp_once(
    sqlite_db: Database, world: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = settings_for(port)
    eve = at(17) - timedelta(days=1)
    assert run_once(sqlite_db, settings, now=eve - timedelta(hours=2), channels=channels(settings)).sent == []
    report = run_once(sqlite_db, settings, now=eve, channels=channels(settings))
    assert report.sent == [(world["job"], "day_before", "email")]
    [(rcpt, msg)] = inbox.messages
    assert rcpt == ["anna@kallio.example"]
    assert msg["Subject"].startswith("Reminder: Helsinki visits you tomorrow")
    assert msg["Message-ID"] == f"<reminder-{_job_id(sqlite_db, world['job'])}-day_before-email@dispatch>"
    body = msg.get_payload(decode=True).decode()
    assert "Tech T1 from Helsinki" in body and "at about 09:00" in body and world["job"] in body
    again = run_once(sqlite_db, settings, now=eve + timedelta(minutes=30), channels=channels(settings))
    assert again.sent == [] and len(inbox.messages) == 1
    events = [e for e in tail(sqlite_db) if e.type == "reminder.sent"]
    assert len(events) == 1 and events[0].payload["kind"] == "day_before"


def _job_id(db: Database, ref: str) -> int:
    from data.models import Job

    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None
        return job.id


def test_morning_of_is_due_from_the_morning_hour(
    sqlite_db: Database, world: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = settings_for(port)
    assert run_once(sqlite_db, settings, now=at(6), channels=channels(settings)).sent == []
    assert run_once(sqlite_db, settings, now=at(7, 5), channels=channels(settings)).sent == [
        (world["job"], "morning_of", "email")
    ]
    assert run_once(sqlite_db, settings, now=at(8), channels=channels(settings)).sent == []
    assert len(inbox.messages) == 1


def test_on_the_way_by_email_and_signed_sms_once(
    sqlite_db: Database, world: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    provider = SmsProvider()
    settings = settings_for(port, sms=True)
    first = run_once(sqlite_db, settings, channels=channels(settings, provider))  # sets the cursor
    assert first.sent == []
    change_status(sqlite_db, DISPATCHER, world["job"], JobStatus.EN_ROUTE, at=at(8, 40))
    report = run_once(sqlite_db, settings, channels=channels(settings, provider))
    assert sorted(report.sent) == [(world["job"], "on_the_way", "email"), (world["job"], "on_the_way", "sms")]
    [sms] = provider.received
    assert sms["to"] == "+358401234567" and "Tech T1 is on the way" in sms["body"]
    assert inbox.messages[0][1]["Subject"] == "Tech T1 is on the way"
    assert run_once(sqlite_db, settings, channels=channels(settings, provider)).sent == []
    assert len(provider.received) == 1 and len(inbox.messages) == 1


def test_a_failed_send_is_retried_and_then_sent_once(
    sqlite_db: Database, world: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    down = settings_for(free_port())  # nothing listens there
    eve = at(17) - timedelta(days=1)
    report = run_once(sqlite_db, down, now=eve, channels=channels(down))
    assert report.sent == [] and report.failed and "SMTP 127.0.0.1" in report.failed[0][3]
    with sqlite_db.read() as s:
        row = s.scalar(select(ReminderSent))
        assert row is not None and row.status is ReminderStatus.FAILED and row.attempts == 1
    up = settings_for(port)
    assert run_once(sqlite_db, up, now=eve, channels=channels(up)).sent == [(world["job"], "day_before", "email")]
    assert len(inbox.messages) == 1
    assert [e.type for e in tail(sqlite_db) if e.type.startswith("reminder.")] == ["reminder.failed", "reminder.sent"]


def test_a_crash_mid_send_never_resends_email_but_resends_sms_with_the_same_id(
    sqlite_db: Database, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(None, sms=True)
    job_id = _job_id(sqlite_db, world["job"])
    email_claim = claim(sqlite_db, job_id, ReminderKind.DAY_BEFORE, ReminderChannel.EMAIL, "a@x.example", settings)
    sms_claim = claim(sqlite_db, job_id, ReminderKind.DAY_BEFORE, ReminderChannel.SMS, "+3584", settings)
    assert email_claim is not None and sms_claim is not None
    # ... and the process dies here. A second runner at once: both are still being sent.
    assert claim(sqlite_db, job_id, ReminderKind.DAY_BEFORE, ReminderChannel.EMAIL, "a@x.example", settings) is None
    monkeypatch.setattr(runner, "STALE_CLAIM", timedelta(0))
    assert claim(sqlite_db, job_id, ReminderKind.DAY_BEFORE, ReminderChannel.EMAIL, "a@x.example", settings) is None
    again = claim(sqlite_db, job_id, ReminderKind.DAY_BEFORE, ReminderChannel.SMS, "+3584", settings)
    assert again is not None and again.message_id == sms_claim.message_id and again.attempts == 2
    with sqlite_db.read() as s:
        email_row = s.get(ReminderSent, email_claim.id)
        assert email_row is not None and email_row.status is ReminderStatus.UNKNOWN
    report = run_once(sqlite_db, settings, now=at(17) - timedelta(days=1), channels={})
    assert report.unknown == [(world["job"], "day_before", "email")]


def test_branch_templates_override_the_defaults(sqlite_db: Database, world: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "HEL").mkdir()
    (tmp_path / "HEL" / "day_before.sms.txt").write_text("Hei {{ contact_name }}! Huomenna klo {{ start_time }}.")
    provider = SmsProvider()
    settings = settings_for(None, sms=True, templates_dir=tmp_path)
    run_once(
        sqlite_db,
        settings,
        now=at(17) - timedelta(days=1),
        channels=channels(settings, provider),
        templates=Templates(tmp_path),
    )
    assert provider.received[0]["body"] == "Hei Anna Asiakas! Huomenna klo 09:00."
    default = Templates(None).render(
        "OTHER",
        "day_before",
        "sms",
        {
            "branch_name": "B",
            "technician_name": "T",
            "site_address": "A",
            "date": "D",
            "start_time": "09:00",
            "job_ref": "J1",
        },
    )
    assert default.body.startswith("B: T visits A tomorrow D at about 09:00")
    with pytest.raises(InvalidInput, match="day_before/sms for branch OTHER"):
        Templates(None).render("OTHER", "day_before", "sms", {})


def test_a_provider_refusal_is_a_failure_not_a_send(sqlite_db: Database, world: dict[str, str]) -> None:
    provider = SmsProvider(status=500)
    settings = settings_for(None, sms=True)
    report = run_once(sqlite_db, settings, now=at(17) - timedelta(days=1), channels=channels(settings, provider))
    assert report.sent == [] and "answered 500" in report.failed[0][3]


def test_settings_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "reminders.toml"
    path.write_text('morning_hour = 8\n[smtp]\nhost = "mail.example"\nport = 2525\nstarttls = false\n')
    settings = load_settings(
        path,
        env={
            "DISPATCH_SMTP_USER": "bot",
            "DISPATCH_SMTP_PASSWORD": "pw",
            "DISPATCH_SMS_WEBHOOK_URL": "https://sms.example/h",
            "DISPATCH_SMS_WEBHOOK_SECRET": SECRET,
        },
    )
    assert settings.smtp == SmtpSettings("mail.example", 2525, "bot", "pw", False)
    assert settings.sms is not None and settings.morning_hour == 8
    assert settings.channels() == ["email", "sms"]
    with pytest.raises(InvalidInput, match=r"smtp\.port: must be between 1 and 65535"):
        load_settings(path, env={"DISPATCH_SMTP_PORT": "99999"})
    with pytest.raises(InvalidInput, match=r"sms\.secret"):
        load_settings(path, env={"DISPATCH_SMS_WEBHOOK_URL": "https://x", "DISPATCH_SMS_WEBHOOK_SECRET": "plain"})


def test_cli_run_once(sqlite_db: Database, world: dict[str, str], smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dispatch_tui.cli.main import app

    inbox, port = smtp
    runner_ = CliRunner()
    empty = tmp_path / "none.toml"
    empty.write_text("morning_hour = 7\n")
    refused = runner_.invoke(app, ["--db", sqlite_db.url, "reminders", "run", "--once", "--config", str(empty)])
    assert refused.exit_code == 2 and "nothing can be sent" in refused.output
    config = tmp_path / "reminders.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n')
    args = ["--db", sqlite_db.url, "reminders", "run", "--once", "--config", str(config), "--json"]
    first = runner_.invoke(app, args)  # starts the event cursor
    assert first.exit_code == 0, first.output
    change_status(sqlite_db, DISPATCHER, world["job"], JobStatus.EN_ROUTE, at=at(8, 40))
    second = runner_.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert '"on_the_way"' in second.stdout and len(inbox.messages) == 1
