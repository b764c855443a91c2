"""The unit of work: one transaction that holds a change and the events describing it, or neither."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from data.actor import Actor
from data.db import Database
from data.errors import StaleJob
from data.jsonable import jsonable
from data.models.base import utcnow
from data.models.events import Event
from data.models.jobs import Job

NOTIFY_CHANNEL = "dispatch_events"
# One lock serialises event inserts on PostgreSQL so commit order equals seq order and a tailer
# reading "after seq N" can never skip a row that commits later with a smaller seq.
EVENT_LOCK_KEY = 7_311_946


@dataclass
class PendingEvent:
    type: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    idempotency_key: str | None = None
    actor: Actor | None = None  # when one transaction carries several people's acts (grouped pings)


@dataclass
class UnitOfWork:
    db: Database
    actor: Actor
    session: Session = field(init=False)
    events: list[PendingEvent] = field(default_factory=list, init=False)
    committed_seqs: list[int] = field(default_factory=list, init=False)
    _jobs_read: dict[int, int] = field(default_factory=dict, init=False)
    _in_events_batch: bool = field(default=False, init=False)

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.write_session()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.session.rollback()
                if isinstance(exc, StaleDataError):  # an autoflush inside the block met a newer version
                    raise self._conflict() from exc
        finally:
            self.session.close()

    def emit(
        self,
        type: str,
        subject_type: str,
        subject_id: object,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.events.append(
            PendingEvent(type, subject_type, str(subject_id), jsonable(payload or {}), idempotency_key, actor)
        )

    def job_for_update(self, job_id: int, expected_version: int | None = None) -> Job:
        """Load a job to change; a caller holding an older version gets a conflict naming who changed it."""
        from data.errors import NotFound

        job = self.session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if expected_version is not None and job.version != expected_version:
            raise StaleJob(f"job {job.ref}", job.updated_by, job.updated_at)
        self._jobs_read.setdefault(job.id, job.version)
        return job

    def touch(self, job: Job) -> None:
        job.updated_at = utcnow()
        job.updated_by = self.actor.login

    def commit(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as err:
            self.session.rollback()
            raise self._conflict() from err
        self.flush_events()
        if self.committed_seqs and self.db.dialect == "postgresql":
            last = str(self.committed_seqs[-1])
            self.session.execute(text("SELECT pg_notify(:c, :s)"), {"c": NOTIFY_CHANNEL, "s": last})
        self.session.commit()
        self.events.clear()
        self._in_events_batch = False

    def flush_events(self) -> None:
        """Insert the events collected so far (still inside the transaction) and forget them.

        A long change (an import of 100,000 rows) calls this between batches so its events do not pile up
        in memory; they commit or roll back with everything else. Only between whole changes: an event
        already inserted cannot be taken back by a savepoint the caller rolls back afterwards.
        """
        if not self.events:
            return
        if not self._in_events_batch:  # the first insert of this transaction
            self.committed_seqs = []
            if self.db.dialect == "postgresql":
                self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK_KEY})
            self._in_events_batch = True
        now = utcnow()
        rows = [
            {
                "at": now,
                "type": e.type,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "payload": e.payload,
                "actor": (e.actor or self.actor).login,
                "source": (e.actor or self.actor).source,
                "idempotency_key": e.idempotency_key,
            }
            for e in self.events
        ]
        if self.db.dialect == "sqlite":
            # SQLite hands RETURNING back one statement per row; this transaction holds the write lock, so
            # the rows take the next seqs in order and the last one tells them all.
            self.session.execute(insert(Event), rows)
            last = self.session.scalar(select(func.max(Event.seq))) or 0
            self.committed_seqs.extend(range(last - len(rows) + 1, last + 1))
        else:
            # One multi-row INSERT ... RETURNING, without building an ORM object per event.
            self.committed_seqs.extend(
                self.session.scalars(insert(Event).returning(Event.seq, sort_by_parameter_order=True), rows)
            )
        self.events.clear()

    def _conflict(self) -> StaleJob:
        """Find which job moved under us and who moved it."""
        with self.db.read() as fresh:
            for job_id, seen in self._jobs_read.items():
                row = fresh.execute(
                    select(Job.ref, Job.version, Job.updated_by, Job.updated_at).where(Job.id == job_id)
                ).one_or_none()
                if row is not None and row.version != seen:
                    return StaleJob(f"job {row.ref}", row.updated_by, row.updated_at)
        return StaleJob("a job", "another user", None)
