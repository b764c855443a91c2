"""Imports of technicians, customers+sites and jobs: validated row by row, applied in one unit of work.

A file lands whole or not at all: any bad row rolls everything back and every error is reported
(file, row, field). With `skip_bad` the good rows land and the bad ones are returned for a reject
file; with `dry_run` everything is checked and counted, then rolled back.

Events: each record goes through the directory and job services, which log per-record events
(`technician.created`, `job.assigned`, ...), because the consoles and the integration worker must
see an imported job exactly like a typed one; unchanged records log nothing, and one
`import.completed` event carries the counts for audit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import DispatchError, InvalidInput
from data.models.customers import Site
from data.models.jobs import Job, JobStatus, JobType
from data.models.org import Branch
from data.models.workforce import Skill, Technician
from data.permissions import Permission
from data.services.directory import (
    RECORDED_STATUSES,
    CustomerRecord,
    SiteRecord,
    TechnicianRecord,
    record_job_state_in,
    stored_customer_records,
    update_job_fields_in,
    upsert_customer_sites_in,
    upsert_technicians_in,
)
from data.services.jobs import JobDraft, assign_in, change_status_in, create_job_in, create_jobs_in, unassign_in
from data.transfer import csv_formats as f
from data.transfer.csv_formats import Entity, FieldError, RowError, SourceRow, iso, read_rows, write_rows
from data.transfer.exporter import job_record
from data.uow import UnitOfWork

T = TypeVar("T")
ASSIGNABLE_IMPORT = (JobStatus.SCHEDULED, JobStatus.DISPATCHED)
BATCH_ROWS = 1000
"""Rows read, checked and written together: a few queries per batch, and memory that does not grow with the file."""
CUSTOMER_COLUMN = {
    "code": "customer_code",
    "name": "customer_name",
    "email": "customer_email",
    "phone": "customer_phone",
    "payment_terms_days": "payment_terms_days",
    "notes": "customer_notes",
}


@dataclass
class ImportReport:
    entity: Entity
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected: list[SourceRow] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    rejects_file: str | None = None

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "errors": [str(e) for e in self.errors],
            "dry_run": self.dry_run,
            "written": self.written,
            "rejects_file": self.rejects_file,
        }


class ImportRejected(InvalidInput):
    """The file had bad rows: nothing was written. Carries the full report."""

    def __init__(self, report: ImportReport) -> None:
        lines = "\n".join(str(e) for e in report.errors)
        super().__init__(f"{len(report.errors)} bad row(s); nothing was imported:\n{lines}")
        self.report = report


class _Rollback(Exception):
    """Leave the unit of work without committing (dry run, or bad rows without skip_bad)."""


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in ("csv", "json"):
            raise InvalidInput(f"'{fmt}' is not csv or json", record="import", field="format")
        return fmt
    return "json" if path.suffix.lower() == ".json" else "csv"


def import_file(
    db: Database,
    actor: Actor,
    entity: Entity,
    path: Path,
    fmt: str | None = None,
    *,
    dry_run: bool = False,
    skip_bad: bool = False,
    rejects: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file; raises ImportRejected (nothing written) when rows are bad and skip_bad is off.

    `progress`, if given, is called after each batch with the rows read so far."""
    actor.require_write(f"import {entity.value}", Permission.EDIT_MASTER_DATA)
    fmt = detect_format(path, fmt)
    rows, columns = read_rows(path, fmt, entity)
    report = ImportReport(entity, path.name, dry_run=dry_run)
    kind = "record" if fmt == "json" else "row"
    try:
        with UnitOfWork(db, actor) as uow:
            context = _Context(uow, path.name, kind)
            for batch in _batches(rows, BATCH_ROWS):
                report.rows += len(batch)
                if entity is Entity.CUSTOMERS:
                    context.customers(report, batch)
                elif entity is Entity.TECHNICIANS:
                    context.technicians(report, batch)
                else:
                    context.jobs(report, batch)
                uow.flush_events()  # a batch's events go to the database now, not to a list as long as the file
                if progress is not None:
                    progress(report.rows)
            if dry_run or (report.errors and not skip_bad):
                raise _Rollback
            uow.emit(
                "import.completed",
                "import",
                entity.value,
                {k: v for k, v in report.as_dict().items() if k not in ("errors", "written", "rejects_file")},
            )
        report.written = True
    except _Rollback:
        pass
    if report.errors and not skip_bad and not dry_run:
        raise ImportRejected(report)
    if skip_bad and report.rejected and not dry_run:
        target = rejects or path.with_name(f"{path.stem}.rejects.{fmt}")
        write_rejects(target, fmt, columns, report)
        report.rejects_file = str(target)
    return report


def _apply_row(
    uow: UnitOfWork,
    report: ImportReport,
    row: SourceRow,
    apply: Callable[[dict[str, Any]], str],
    file: str,
    kind: str,
) -> None:
    savepoint = uow.session.begin_nested()
    pending = len(uow.events)
    try:
        _check_shape(row)
        outcome = apply(row.values)
        savepoint.commit()
        report.count(outcome)
    except FieldError as e:
        savepoint.rollback()
        del uow.events[pending:]
        _reject(report, row, e.field, e.message, kind)
    except DispatchError as e:
        savepoint.rollback()
        del uow.events[pending:]
        _reject(report, row, _field_of(e), _message_of(e), kind)


def _batches(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


def _check_shape(row: SourceRow) -> None:
    """What is wrong with a record before its fields are read: not an object, too many cells, bad cells."""
    if "__invalid__" in row.values:
        raise FieldError("", "is not a JSON object")
    if "__extra__" in row.values:
        raise FieldError("", f"has {len(row.values['__extra__'])} more value(s) than the header has columns")
    f.check_cells(row.values)


def _reject(report: ImportReport, row: SourceRow, field: str | None, message: str, kind: str) -> None:
    report.errors.append(RowError(report.file, row.number, field or None, message, kind))
    report.rejected.append(row)


def _field_of(e: DispatchError) -> str | None:
    return e.field if isinstance(e, InvalidInput) else None


def _message_of(e: DispatchError) -> str:
    if isinstance(e, InvalidInput):
        prefix = ": ".join(p for p in (e.record, e.field) if p)
        if prefix and e.message.startswith(prefix + ": "):
            return e.message[len(prefix) + 2 :]
    return e.message


def write_rejects(target: Path, fmt: str, columns: list[str], report: ImportReport) -> None:
    """The bad rows as they came in, plus an `error` column saying what is wrong with each."""
    errors = {e.row: e for e in report.errors}
    out_columns = [*columns, "error"]
    rows = []
    for row in report.rejected:
        values = {c: row.values.get(c) for c in columns}
        err = errors[row.number]
        values["error"] = f"field {err.field}: {err.message}" if err.field else err.message
        rows.append(values)
    if fmt == "json":
        target.write_text(write_rows("json", out_columns, rows), encoding="utf-8")
    else:
        # Original cells are written back verbatim (no re-formatting), so nothing the user typed changes.
        target.write_text(write_rows("csv", out_columns, rows), encoding="utf-8")


@dataclass
class _JobRow:
    """A job row's checked fields."""

    ref: str | None
    type: JobType
    status: JobStatus
    priority: int
    summary: str
    description: str | None
    site_code: str
    skills: dict[str, int]
    duration: int
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    technician: str | None
    planned_start: datetime | None
    pinned: bool

    def draft(self) -> JobDraft:
        return JobDraft(
            type=self.type,
            site_code=self.site_code,
            summary=self.summary,
            duration_minutes=self.duration,
            priority=self.priority,
            skills=self.skills,
            description=self.description,
            window_start=self.window_start,
            window_end=self.window_end,
            sla_due=self.sla_due,
            ref=self.ref,
        )


class _Context:
    """What row parsers need to know about the database: skills, branches, and keys already seen."""

    def __init__(self, uow: UnitOfWork, file: str, kind: str) -> None:
        self.uow = uow
        self.file = file
        self.kind = kind
        self.skills = set(uow.session.scalars(select(Skill.code)))
        self.branches = set(uow.session.scalars(select(Branch.code)))
        self.seen: set[str] = set()
        self.customers_seen: set[str] = set()

    def once(self, key: str, field_name: str) -> None:
        if key in self.seen:
            raise FieldError(field_name, f"'{key}' appears twice in the file")
        self.seen.add(key)

    # -- technicians ------------------------------------------------------------------------
    def technicians(self, report: ImportReport, batch: Sequence[SourceRow]) -> None:
        """A batch of technician rows: fields checked row by row, then written by one directory call."""
        parsed = self._parsed(report, batch, self.technician_row)
        self._outcomes(report, [row for row, _ in parsed], upsert_technicians_in(self.uow, [r for _, r in parsed]))

    def _parsed(
        self, report: ImportReport, batch: Sequence[SourceRow], parse: Callable[[dict[str, Any]], T]
    ) -> list[tuple[SourceRow, T]]:
        """Each row's checked fields; a row whose fields are wrong is rejected here, naming the field."""
        parsed: list[tuple[SourceRow, T]] = []
        for row in batch:
            try:
                _check_shape(row)
                parsed.append((row, parse(row.values)))
            except FieldError as e:
                _reject(report, row, e.field, e.message, self.kind)
        return parsed

    def _outcomes(
        self, report: ImportReport, rows: Sequence[SourceRow], outcomes: Sequence[str | DispatchError]
    ) -> None:
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, DispatchError):
                _reject(report, row, _field_of(outcome), _message_of(outcome), self.kind)
            else:
                report.count(outcome)

    def technician_row(self, row: dict[str, Any]) -> TechnicianRecord:
        code = f.code(row, "code")
        assert code is not None
        self.once(code, "code")
        branch = f.code(row, "branch")
        assert branch is not None
        if branch not in self.branches:
            raise FieldError("branch", f"unknown branch '{branch}' (known: {', '.join(sorted(self.branches))})")
        return TechnicianRecord(
            code=code,
            name=f.text(row, "name") or "",
            branch=branch,
            home_lat=f.coordinate(row, "home_lat", 90),
            home_lon=f.coordinate(row, "home_lon", 180),
            skills=f.skills(row, "skills", self.skills),
            shifts=[(s.weekday, s.start, s.end, s.break_minutes) for s in f.shifts(row, "shifts")],
            exceptions=f.exceptions(row, "exceptions"),
            email=f.text(row, "email", required=False),
            phone=f.text(row, "phone", required=False, max_len=40),
            hourly_cost=f.money(row, "hourly_cost", default=Decimal("0.00")),
            max_daily_minutes=f.integer(row, "max_daily_minutes", 1, 1440, default=480),
            active=f.boolean(row, "active", default=True),
        )

    # -- customers and sites ----------------------------------------------------------------
    def customers(self, report: ImportReport, batch: Sequence[SourceRow]) -> None:
        """A batch of customer rows: fields checked row by row, then written by one directory call."""
        rows = self._parsed(report, batch, self.customer_row)
        parsed = self._consistent_customers(report, [(row, rec, site) for row, (rec, site) in rows])
        outcomes = upsert_customer_sites_in(self.uow, [(rec, site) for _, rec, site in parsed])
        self._outcomes(report, [row for row, _, _ in parsed], outcomes)

    def customer_row(self, row: dict[str, Any]) -> tuple[CustomerRecord, SiteRecord | None]:
        code = f.code(row, "customer_code")
        assert code is not None
        rec = CustomerRecord(
            code=code,
            name=f.text(row, "customer_name") or "",
            email=f.text(row, "customer_email", required=False),
            phone=f.text(row, "customer_phone", required=False, max_len=40),
            payment_terms_days=f.integer(row, "payment_terms_days", 0, 365, default=30),
            notes=f.text(row, "customer_notes", required=False, max_len=4000),
        )
        site_code = f.code(row, "site_code", required=False)
        site = None
        if site_code is not None:
            self.once(site_code, "site_code")
            branch = f.code(row, "branch")
            assert branch is not None
            if branch not in self.branches:
                raise FieldError("branch", f"unknown branch '{branch}' (known: {', '.join(sorted(self.branches))})")
            site = SiteRecord(
                code=site_code,
                customer_code=code,
                name=f.text(row, "site_name") or "",
                branch=branch,
                address=f.text(row, "address", max_len=300) or "",
                lat=f.coordinate(row, "lat", 90),
                lon=f.coordinate(row, "lon", 180),
                postcode=f.text(row, "postcode", required=False, max_len=20),
                city=f.text(row, "city", required=False, max_len=100),
                access_notes=f.text(row, "access_notes", required=False, max_len=4000),
            )
        return rec, site

    def _consistent_customers(
        self, report: ImportReport, parsed: list[tuple[SourceRow, CustomerRecord, SiteRecord | None]]
    ) -> list[tuple[SourceRow, CustomerRecord, SiteRecord | None]]:
        """Later rows of the same customer must repeat its columns unchanged.

        Only the codes are kept from one batch to the next (memory stays flat on a large file): a customer
        first met in an earlier batch is compared with what that batch wrote, read back in one query.
        """
        earlier = {rec.code for _, rec, _ in parsed if rec.code in self.customers_seen}
        first: dict[str, CustomerRecord] = stored_customer_records(self.uow, earlier)
        kept = []
        for row, rec, site in parsed:
            reference = first.get(rec.code)
            if reference is None:
                first[rec.code] = rec
                self.customers_seen.add(rec.code)
            else:
                differs = next((n for n in CUSTOMER_COLUMN if getattr(reference, n) != getattr(rec, n)), None)
                if differs is not None:
                    message = f"differs from the customer's first row ({getattr(reference, differs)!r})"
                    _reject(report, row, CUSTOMER_COLUMN[differs], message, self.kind)
                    continue
            kept.append((row, rec, site))
        return kept

    # -- jobs -------------------------------------------------------------------------------
    def jobs(self, report: ImportReport, batch: Sequence[SourceRow]) -> None:
        """A batch of job rows: fields checked row by row; the sites, technicians and stored jobs they name
        read in one query each; new jobs without a plan created together (`create_jobs_in`), the others
        (a plan, a recorded state, a stored job to change) one by one, each in its own savepoint."""
        parsed = self._parsed(report, batch, self.job_row)
        self._read_job_lookups([p for _, p in parsed])
        plain: list[tuple[SourceRow, _JobRow]] = []
        for row, job in parsed:
            try:
                self._check_job_refs(job)
            except FieldError as e:
                _reject(report, row, e.field, e.message, self.kind)
                continue
            if job.ref not in self.stored_jobs and job.status is JobStatus.NEW:
                plain.append((row, job))
            else:
                _apply_row(self.uow, report, row, functools.partial(self._write_job, job), self.file, self.kind)
        outcomes = create_jobs_in(self.uow, [job.draft() for _, job in plain])
        self._outcomes(
            report, [row for row, _ in plain], [o if isinstance(o, DispatchError) else "created" for o in outcomes]
        )

    def _read_job_lookups(self, jobs: Sequence[_JobRow]) -> None:
        """The batch's technicians and sites by code, and its stored jobs by ref: one query each."""
        s = self.uow.session
        techs = sorted({j.technician for j in jobs if j.technician})
        sites = sorted({j.site_code for j in jobs})
        refs = sorted({j.ref for j in jobs if j.ref})
        self.technician_codes = (
            set(s.scalars(select(Technician.code).where(Technician.code.in_(techs)))) if techs else set()
        )
        self.site_codes = set(s.scalars(select(Site.code).where(Site.code.in_(sites)))) if sites else set()
        self.stored_jobs = {j.ref: j for j in s.scalars(select(Job).where(Job.ref.in_(refs)))} if refs else {}

    def job_row(self, row: dict[str, Any]) -> _JobRow:
        """A job row's fields, checked in column order (what needs the database comes after)."""
        ref = f.code(row, "ref", required=False)
        if ref is not None:
            self.once(ref, "ref")
        job_type = JobType(f.choice(row, "type", [t.value for t in JobType]))
        status = JobStatus(f.choice(row, "status", [t.value for t in JobStatus], default="new"))
        priority = f.integer(row, "priority", 1, 4, default=3, what="1-4")
        summary = f.text(row, "summary", max_len=300) or ""
        description = f.text(row, "description", required=False, max_len=10000)
        site_code = f.code(row, "site")
        skills = f.skills(row, "skills", self.skills)
        duration = f.integer(row, "duration_minutes", 1, 1440)
        window_start, window_end = f.moment(row, "window_start"), f.moment(row, "window_end")
        if window_start and window_end and window_end <= window_start:
            raise FieldError("window_end", "must be after window_start")
        sla_due = f.moment(row, "sla_due")
        technician = f.code(row, "technician", required=False)
        planned_start = f.moment(row, "planned_start")
        pinned = f.boolean(row, "pinned", default=False)
        if technician and planned_start is None and status is not JobStatus.CANCELLED:
            raise FieldError("planned_start", "is required when a technician is given")
        if planned_start is not None and not technician:
            raise FieldError("technician", "is required when planned_start is given")
        return _JobRow(
            ref, job_type, status, priority, summary, description, site_code or "", skills, duration,
            window_start, window_end, sla_due, technician, planned_start, pinned,
        )  # fmt: skip

    def _check_job_refs(self, job: _JobRow) -> None:
        """The rules that need the database (read for the whole batch by `_read_job_lookups`)."""
        technician, status = job.technician, job.status
        if technician and technician not in self.technician_codes:
            raise FieldError("technician", f"unknown technician '{technician}'")
        if job.site_code not in self.site_codes:
            raise FieldError("site", f"unknown site '{job.site_code}'")
        if technician is None and status in (*ASSIGNABLE_IMPORT, *RECORDED_STATUSES - {JobStatus.CANCELLED}):
            raise FieldError("technician", f"a {status.value} job needs a technician")
        if technician and status is JobStatus.NEW:
            raise FieldError("status", "a new job has no technician (use scheduled)")

    def _write_job(self, job: _JobRow, _values: dict[str, Any]) -> str:
        s = self.uow.session
        ref, job_type, status, priority, summary = job.ref, job.type, job.status, job.priority, job.summary
        description, site_code, skills, duration = job.description, job.site_code, job.skills, job.duration
        window_start, window_end, sla_due = job.window_start, job.window_end, job.sla_due
        technician, planned_start, pinned = job.technician, job.planned_start, job.pinned
        existing = self.stored_jobs.get(ref) if ref else None
        incoming = {
            "ref": ref,
            "type": job_type.value,
            "status": status.value,
            "priority": priority,
            "summary": summary,
            "description": description,
            "site": site_code,
            "skills": skills,
            "duration_minutes": duration,
            "window_start": iso(window_start),
            "window_end": iso(window_end),
            "sla_due": iso(sla_due),
            "technician": technician,
            "planned_start": iso(planned_start),
            "pinned": pinned,
        }
        if existing is None:
            created = create_job_in(self.uow, job.draft())
            self._plan(created, status, technician, planned_start, pinned)
            return "created"
        site = s.get(Site, existing.site_id)
        tech_code = s.scalar(select(Technician.code).where(Technician.id == existing.technician_id))
        current = job_record(existing, site.code if site else "", tech_code)
        if current == incoming:
            return "unchanged"
        if current["site"] != site_code:
            raise FieldError("site", "a job cannot move to another site; cancel it and create a new one")
        if current["type"] != job_type.value:
            raise FieldError("type", "the type of an existing job cannot change")
        update_job_fields_in(
            self.uow,
            existing,
            {
                "priority": priority,
                "summary": summary,
                "description": description,
                "duration_minutes": duration,
                "window_start": window_start,
                "window_end": window_end,
                "sla_due": sla_due,
            },
            skills,
        )
        if (current["technician"], current["planned_start"], current["pinned"]) != (
            technician,
            iso(planned_start),
            pinned,
        ) or current["status"] != status.value:
            self._replan(existing, status, technician, planned_start, pinned)
        return "updated"

    def _plan(self, job: Job, status: JobStatus, technician: str | None, planned_start: Any, pinned: bool) -> None:
        if status in RECORDED_STATUSES:
            record_job_state_in(self.uow, job, status, technician, planned_start, pinned)
            return
        if technician is None:
            return
        assign_in(self.uow, job.ref, technician, planned_start, pinned=pinned, reassign=True)
        if status is JobStatus.DISPATCHED:
            change_status_in(self.uow, job.ref, JobStatus.DISPATCHED)

    def _replan(self, job: Job, status: JobStatus, technician: str | None, planned_start: Any, pinned: bool) -> None:
        """Changes to an existing job's plan or status go through the state machine."""
        if technician is None and job.technician_id is not None and status in (JobStatus.NEW, JobStatus.CANCELLED):
            unassign_in(self.uow, job.ref)
        elif technician is not None and status not in RECORDED_STATUSES:
            assign_in(self.uow, job.ref, technician, planned_start, pinned=pinned, reassign=True)
        if job.status is not status:
            change_status_in(self.uow, job.ref, status)
