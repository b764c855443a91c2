"""Messages on the job, between office and field: who may write where, the event each one is, unread counts.

A thread belongs to a job (everyone working it) or to a technician (office <-> that technician). The
office (dispatchers, supervisors, admins, any company role) writes on any thread; a technician writes
on their own thread and on the jobs assigned to them, from the app or offline through the field sync.
Every message is an event, `message.internal` or `message.customer`, so the audit has it and a
connector subscribes to the customer-facing ones without ever seeing the internal ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, PermissionDenied
from data.models.jobs import Job, NoteAuthorKind
from data.models.messages import Message, MessageAudience, MessageRead
from data.models.org import Role
from data.models.workforce import Technician
from data.services.jobs import find_job, find_technician
from data.uow import UnitOfWork

MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Thread:
    """A job's thread or a technician's; `key` names it in read marks and event payloads."""

    job_id: int | None = None
    technician_id: int | None = None

    @property
    def key(self) -> str:
        return f"job:{self.job_id}" if self.job_id is not None else f"technician:{self.technician_id}"


@dataclass(frozen=True)
class MessageView:
    id: int
    thread: str
    job_ref: str | None
    technician_code: str | None
    audience: str
    author: str
    author_kind: str
    body: str
    created_at: datetime


def _thread(session: Session, job_ref: str | int | None, technician: str | int | None) -> tuple[Thread, str]:
    if (job_ref is None) == (technician is None):
        raise InvalidInput("name a job or a technician, not both", record="message", field="thread")
    if job_ref is not None:
        job = find_job(session, job_ref)
        return Thread(job_id=job.id), f"job {job.ref}"
    tech = find_technician(session, technician)  # type: ignore[arg-type]
    return Thread(technician_id=tech.id), f"technician {tech.code}"


def _check_reader(session: Session, actor: Actor, thread: Thread, what: str) -> None:
    """The office reads every thread; a technician only their own and their jobs'."""
    if actor.role is not Role.TECHNICIAN:
        return
    if thread.technician_id is not None and thread.technician_id == actor.technician_id:
        return
    if thread.job_id is not None:
        assigned = session.scalar(select(Job.technician_id).where(Job.id == thread.job_id))
        if assigned is not None and assigned == actor.technician_id:
            return
    raise PermissionDenied(f"{actor.login} cannot read or write the messages of {what}")


def post_in(
    uow: UnitOfWork,
    *,
    job_ref: str | int | None = None,
    technician: str | int | None = None,
    body: str,
    audience: MessageAudience = MessageAudience.INTERNAL,
    at: datetime | None = None,
) -> Message:
    """Write one message on a thread, and its event, in the caller's transaction."""
    actor = uow.actor
    thread, what = _thread(uow.session, job_ref, technician)
    text = body.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise InvalidInput(f"must be 1 to {MAX_MESSAGE} characters", record=f"message on {what}", field="body")
    _check_reader(uow.session, actor, thread, what)
    from_field = actor.role is Role.TECHNICIAN
    if from_field and audience is MessageAudience.CUSTOMER:
        raise InvalidInput(
            "technicians write to the office; customer-facing messages are sent by the office",
            record=f"message on {what}",
            field="audience",
        )
    row = Message(
        job_id=thread.job_id,
        technician_id=thread.technician_id,
        audience=audience,
        body=text,
        author=actor.login,
        author_kind=NoteAuthorKind.TECHNICIAN if from_field else NoteAuthorKind.DISPATCHER,
    )
    if at is not None:
        row.created_at = at
    uow.session.add(row)
    uow.session.flush()
    view = _view(uow.session, row)
    uow.emit(
        f"message.{audience.value}",
        "job" if thread.job_id is not None else "technician",
        thread.job_id if thread.job_id is not None else thread.technician_id,
        {
            "message_id": row.id,
            "thread": thread.key,
            "job_ref": view.job_ref,
            "technician_code": view.technician_code,
            "author": actor.login,
            "author_kind": row.author_kind,
            "audience": audience,
            "body": text,
        },
    )
    _mark(uow.session, actor.login, thread.key, row.id)  # your own message is read
    return row


def send_message(
    db: Database,
    actor: Actor,
    *,
    job_ref: str | int | None = None,
    technician: str | int | None = None,
    body: str,
    audience: MessageAudience = MessageAudience.INTERNAL,
) -> MessageView:
    """Dispatchers, supervisors, admins and company roles write on any thread (a supervisor's only write)."""
    with UnitOfWork(db, actor) as uow:
        row = post_in(uow, job_ref=job_ref, technician=technician, body=body, audience=audience)
        return _view(uow.session, row)


def read_thread(
    db: Database,
    actor: Actor,
    *,
    job_ref: str | int | None = None,
    technician: str | int | None = None,
    audience: MessageAudience | None = None,
    mark_read: bool = True,
) -> list[MessageView]:
    """A thread oldest first (a technician never sees customer-facing ones); reading it marks it read."""
    with db.write_session() as session, session.begin():
        thread, what = _thread(session, job_ref, technician)
        _check_reader(session, actor, thread, what)
        stmt = select(Message).where(
            Message.job_id == thread.job_id if thread.job_id is not None else Message.job_id.is_(None),
            Message.technician_id == thread.technician_id
            if thread.technician_id is not None
            else Message.technician_id.is_(None),
        )
        if audience is not None:
            stmt = stmt.where(Message.audience == audience)
        if actor.role is Role.TECHNICIAN:
            stmt = stmt.where(Message.audience == MessageAudience.INTERNAL)
        rows = list(session.scalars(stmt.order_by(Message.id)))
        if mark_read and rows:
            _mark(session, actor.login, thread.key, rows[-1].id)
        return [_view(session, r) for r in rows]


def technician_messages(db: Database, actor: Actor, technician_id: int, since_id: int = 0) -> list[MessageView]:
    """What a technician's app shows: their own thread and their jobs' threads, internal messages only."""
    actor.require_field(technician_id, "read messages")
    with db.read() as session:
        jobs = select(Job.id).where(Job.technician_id == technician_id)
        rows = session.scalars(
            select(Message)
            .where(
                or_(Message.technician_id == technician_id, Message.job_id.in_(jobs)),
                Message.audience == MessageAudience.INTERNAL,
                Message.id > since_id,
            )
            .order_by(Message.id)
            .limit(500)
        )
        return [_view(session, r) for r in rows]


def mark_all_read(db: Database, actor: Actor, technician_id: int) -> None:
    """A technician's app has shown every message: mark each of their threads read up to its newest."""
    views = technician_messages(db, actor, technician_id)
    newest: dict[str, int] = {}
    for v in views:
        newest[v.thread] = v.id
    with db.write_session() as session, session.begin():
        for thread, last in newest.items():
            _mark(session, actor.login, thread, last)


def unread_counts(db: Database, actor: Actor) -> dict[str, int]:
    """Per thread, messages from the other side (field for the office, office for a technician) not yet read."""
    other = NoteAuthorKind.DISPATCHER if actor.role is Role.TECHNICIAN else NoteAuthorKind.TECHNICIAN
    with db.read() as session:
        marks = dict(
            session.execute(
                select(MessageRead.thread, MessageRead.last_read_id).where(MessageRead.login == actor.login)
            ).all()
        )
        mine = [Message.author_kind == other]
        if actor.role is Role.TECHNICIAN:
            jobs = select(Job.id).where(Job.technician_id == actor.technician_id)
            mine += [
                or_(Message.technician_id == actor.technician_id, Message.job_id.in_(jobs)),
                Message.audience == MessageAudience.INTERNAL,
            ]
        counts: dict[str, int] = {}
        threads = session.execute(select(Message.job_id, Message.technician_id).where(*mine).distinct())
        for job_id, tech_id in list(threads):
            key = Thread(job_id, tech_id).key
            unread = session.scalar(
                select(func.count()).where(
                    *mine,
                    Message.job_id == job_id if job_id is not None else Message.job_id.is_(None),
                    Message.technician_id == tech_id if tech_id is not None else Message.technician_id.is_(None),
                    Message.id > marks.get(key, 0),
                )
            )
            if unread:
                counts[key] = int(unread)
        return counts


def _mark(session: Session, login: str, thread: str, last_id: int) -> None:
    mark = session.get(MessageRead, (login, thread))
    if mark is None:
        session.add(MessageRead(login=login, thread=thread, last_read_id=last_id))
    elif last_id > mark.last_read_id:
        mark.last_read_id = last_id


def _view(session: Session, row: Message) -> MessageView:
    ref = session.scalar(select(Job.ref).where(Job.id == row.job_id)) if row.job_id is not None else None
    code = (
        session.scalar(select(Technician.code).where(Technician.id == row.technician_id))
        if row.technician_id is not None
        else None
    )
    return MessageView(
        row.id,
        Thread(row.job_id, row.technician_id).key,
        ref,
        code,
        row.audience.value,
        row.author,
        row.author_kind.value,
        row.body,
        row.created_at,
    )
