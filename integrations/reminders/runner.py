"""Deciding which reminders are due and sending each at most once.

Mark, then send. A reminder is first *claimed*: a `reminders_sent` row (unique per job, kind and
channel) is inserted with status `sending` and committed; only the claimer sends. After the send,
one transaction marks the row `sent` and appends the `reminder.sent` event. If the process dies
between the two, the row stays `sending`: an email is then never re-sent (marked `unknown` and
reported), because a customer receiving the same message twice is the failure this table exists to
prevent, and SMTP offers no way to ask whether a message got through. An SMS is re-sent with the
same `webhook-id`, which Standard Webhooks receivers use to drop duplicates. A refusal or an
unreachable server (`failed`) is retried up to `max_attempts` times: nothing went out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from data.actor import Actor
from data.availability import local_date
from data.db import Database
from data.errors import DispatchError
from data.feed import last_seq, tail
from data.models.base import utcnow
from data.models.customers import Contact, Customer, Site
from data.models.jobs import Job, JobStatus
from data.models.org import Branch, Role
from data.models.reminders import ReminderChannel, ReminderCursor, ReminderKind, ReminderSent, ReminderStatus
from data.models.workforce import Technician
from data.uow import UnitOfWork
from integrations.reminders.channels import Channel, EmailChannel, SendFailed, SmsWebhookChannel
from integrations.reminders.settings import ReminderSettings
from integrations.reminders.templates import Templates

ACTOR = Actor("reminders", Role.ADMIN, source="worker")
CURSOR = "on_the_way"
# A claim older than this without an outcome means the sender died mid-send.
STALE_CLAIM = timedelta(minutes=10)
APPOINTMENT_STATUSES = (JobStatus.SCHEDULED, JobStatus.DISPATCHED)


@dataclass(frozen=True)
class Due:
    job_id: int
    kind: ReminderKind


@dataclass
class RunReport:
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (job ref, kind, channel)
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)
    unknown: list[tuple[str, str, str]] = field(default_factory=list)
    skipped: int = 0


def channels_from(settings: ReminderSettings) -> dict[ReminderChannel, Channel]:
    found: dict[ReminderChannel, Channel] = {}
    if settings.smtp is not None:
        found[ReminderChannel.EMAIL] = EmailChannel(settings.smtp)
    if settings.sms is not None:
        found[ReminderChannel.SMS] = SmsWebhookChannel(settings.sms)
    return found


# --- what is due ----------------------------------------------------------------------------------------


def due_appointments(db: Database, settings: ReminderSettings, now: datetime) -> list[Due]:
    """Day-before reminders from `day_before_hour` on the eve; morning-of ones from `morning_hour` on the day."""
    due: list[Due] = []
    with db.read() as session:
        rows = session.execute(
            select(Job.id, Job.planned_start, Branch.timezone)
            .join(Branch, Branch.id == Job.branch_id)
            .where(
                Job.status.in_(APPOINTMENT_STATUSES),
                Job.technician_id.is_not(None),
                Job.planned_start > now,
                Job.planned_start < now + timedelta(days=2),
            )
        )
        for job_id, start, tz in rows:
            if start is None:
                continue
            local_now = now.astimezone(ZoneInfo(tz))
            day = local_date(start, tz)
            if local_now.date() == day - timedelta(days=1) and local_now.hour >= settings.day_before_hour:
                due.append(Due(job_id, ReminderKind.DAY_BEFORE))
            elif local_now.date() == day and local_now.hour >= settings.morning_hour:
                due.append(Due(job_id, ReminderKind.MORNING_OF))
    return due


def due_on_the_way(db: Database, settings: ReminderSettings, now: datetime) -> tuple[list[Due], int]:
    """Jobs that went en route since the stored cursor (still en route, and recently), and the new cursor."""
    with db.read() as session:
        cursor = session.get(ReminderCursor, CURSOR)
        after = cursor.last_seq if cursor is not None else None
    if after is None:
        # A first run starts at the end of the log: history is not news to anyone.
        return [], last_seq(db)
    due: list[Due] = []
    newest = after
    oldest_useful = now - timedelta(minutes=settings.on_the_way_max_age_minutes)
    while True:
        events = tail(db, newest, 1000, types=["job.status_changed"])
        if not events:
            break
        newest = events[-1].seq
        for event in events:
            if event.payload.get("to") == JobStatus.EN_ROUTE.value and event.at >= oldest_useful:
                due.append(Due(int(event.subject_id), ReminderKind.ON_THE_WAY))
    return due, newest


def _save_cursor(db: Database, seq: int) -> None:
    with UnitOfWork(db, ACTOR) as uow:
        row = uow.session.get(ReminderCursor, CURSOR)
        if row is None:
            uow.session.add(ReminderCursor(name=CURSOR, last_seq=seq, updated_at=utcnow()))
        else:
            row.last_seq, row.updated_at = seq, utcnow()


# --- the ledger -----------------------------------------------------------------------------------------


def claim(
    db: Database, job_id: int, kind: ReminderKind, channel: ReminderChannel, recipient: str, settings: ReminderSettings
) -> ReminderSent | None:
    """Take the right to send this reminder, or None when it was sent, is being sent, or must not be re-sent."""
    now = utcnow()
    try:
        with UnitOfWork(db, ACTOR) as uow:
            row = uow.session.scalar(
                select(ReminderSent).where(
                    ReminderSent.job_id == job_id, ReminderSent.kind == kind, ReminderSent.channel == channel
                )
            )
            if row is None:
                row = ReminderSent(
                    job_id=job_id,
                    kind=kind,
                    channel=channel,
                    status=ReminderStatus.SENDING,
                    recipient=recipient,
                    message_id=f"reminder-{job_id}-{kind.value}-{channel.value}",
                    attempts=1,
                    claimed_at=now,
                )
                uow.session.add(row)
                return row
            if row.status is ReminderStatus.FAILED and row.attempts < settings.max_attempts:
                row.status, row.attempts, row.claimed_at = ReminderStatus.SENDING, row.attempts + 1, now
                return row
            if row.status is ReminderStatus.SENDING and now - row.claimed_at > STALE_CLAIM:
                if channel is ReminderChannel.SMS:  # the receiver drops a repeated webhook-id
                    row.attempts, row.claimed_at = row.attempts + 1, now
                    return row
                row.status = ReminderStatus.UNKNOWN
                uow.emit(
                    "reminder.unknown",
                    "job",
                    job_id,
                    {"kind": kind, "channel": channel, "recipient": row.recipient, "claimed_at": row.claimed_at},
                )
            return None
    except IntegrityError:
        return None  # another runner claimed it a moment ago


def finish(db: Database, row_id: int, ref: str, error: str | None) -> None:
    """Record the outcome and its event in one transaction."""
    with UnitOfWork(db, ACTOR) as uow:
        row = uow.session.get(ReminderSent, row_id)
        assert row is not None
        payload = {
            "ref": ref,
            "kind": row.kind,
            "channel": row.channel,
            "recipient": row.recipient,
            "attempt": row.attempts,
            "message_id": row.message_id,
        }
        if error is None:
            row.status, row.sent_at, row.last_error = ReminderStatus.SENT, utcnow(), None
            uow.emit("reminder.sent", "job", row.job_id, payload)
        else:
            row.status, row.last_error = ReminderStatus.FAILED, error[:2000]
            uow.emit("reminder.failed", "job", row.job_id, {**payload, "error": error[:500]})


# --- sending ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str | None
    phone: str | None


def _context(db: Database, job_id: int) -> tuple[dict[str, str], str, Recipient, JobStatus] | None:
    with db.read() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        branch = session.get(Branch, job.branch_id)
        site = session.get(Site, job.site_id)
        customer = session.get(Customer, job.customer_id)
        tech = session.get(Technician, job.technician_id) if job.technician_id else None
        assert branch is not None and site is not None and customer is not None
        contact = session.scalar(
            select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.primary.desc(), Contact.id)
        )
        zone = ZoneInfo(branch.timezone)
        start = (job.planned_start or utcnow()).astimezone(zone)
        context = {
            "job_ref": job.ref,
            "summary": job.summary,
            "customer_name": customer.name,
            "contact_name": contact.name if contact else customer.name,
            "site_name": site.name,
            "site_address": ", ".join(p for p in (site.address, site.city) if p),
            "date": f"{start:%A} {start.day} {start:%B}",
            "start_time": f"{start:%H:%M}",
            "technician_name": tech.name if tech else "our technician",
            "branch_name": branch.name,
            "branch_code": branch.code,
        }
        recipient = Recipient(
            (contact.email if contact and contact.email else None) or customer.email,
            (contact.phone if contact and contact.phone else None) or customer.phone,
        )
        return context, branch.code, recipient, job.status


def send_due(
    db: Database,
    settings: ReminderSettings,
    due: Iterable[Due],
    channels: dict[ReminderChannel, Channel],
    templates: Templates,
    report: RunReport,
) -> None:
    for item in due:
        found = _context(db, item.job_id)
        if found is None:
            continue
        context, branch, recipient, status = found
        wanted = APPOINTMENT_STATUSES if item.kind is not ReminderKind.ON_THE_WAY else (JobStatus.EN_ROUTE,)
        if status not in wanted:
            report.skipped += 1  # moved on meanwhile: the message would be wrong now
            continue
        for channel_name, channel in channels.items():
            address = recipient.email if channel_name is ReminderChannel.EMAIL else recipient.phone
            if not address:
                continue
            row = claim(db, item.job_id, item.kind, channel_name, address, settings)
            if row is None:
                report.skipped += 1
                continue
            key = (context["job_ref"], item.kind.value, channel_name.value)
            try:
                message = templates.render(branch, item.kind.value, channel_name.value, context)
                channel.send(address, message, row.message_id, {"job": context["job_ref"], "kind": item.kind.value})
            except (SendFailed, DispatchError) as err:
                finish(db, row.id, context["job_ref"], str(err))
                report.failed.append((*key, str(err)))
                continue
            finish(db, row.id, context["job_ref"], None)
            report.sent.append(key)


def run_once(
    db: Database,
    settings: ReminderSettings,
    *,
    now: datetime | None = None,
    channels: dict[ReminderChannel, Channel] | None = None,
    templates: Templates | None = None,
) -> RunReport:
    """One pass: appointment reminders that are due, then "on the way" messages from the event log."""
    now = now or utcnow()
    channels = channels_from(settings) if channels is None else channels
    templates = templates or Templates(settings.templates_dir)
    report = RunReport()
    with db.read() as session:
        unknown = session.execute(
            select(Job.ref, ReminderSent.kind, ReminderSent.channel)
            .join(Job, Job.id == ReminderSent.job_id)
            .where(ReminderSent.status == ReminderStatus.UNKNOWN)
        )
        report.unknown = [(ref, kind.value, channel.value) for ref, kind, channel in unknown]
    send_due(db, settings, due_appointments(db, settings, now), channels, templates, report)
    on_the_way, cursor = due_on_the_way(db, settings, now)
    send_due(db, settings, on_the_way, channels, templates, report)
    _save_cursor(db, cursor)
    return report
