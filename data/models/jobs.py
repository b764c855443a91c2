"""Work orders: what must be done, where, by when, by whom; their status machine and notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import UTCDateTime
from data.models.workforce import Skill


class JobType(StrEnum):
    INSTALL = "install"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    INSPECTION = "inspection"


class JobStatus(StrEnum):
    NEW = "new"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    PAUSED = "paused"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    CANCELLED = "cancelled"


# The only legal moves. Unassigning sends a planned job back to NEW; a technician who turns back
# sends EN_ROUTE back to DISPATCHED; PAUSED is a technician stepping away mid-job.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.NEW: frozenset({JobStatus.SCHEDULED, JobStatus.CANCELLED}),
    JobStatus.SCHEDULED: frozenset({JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.CANCELLED}),
    JobStatus.DISPATCHED: frozenset(
        {JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.CANCELLED}
    ),
    JobStatus.EN_ROUTE: frozenset({JobStatus.DISPATCHED, JobStatus.ON_SITE, JobStatus.CANCELLED}),
    JobStatus.ON_SITE: frozenset({JobStatus.PAUSED, JobStatus.COMPLETED, JobStatus.INCOMPLETE}),
    JobStatus.PAUSED: frozenset({JobStatus.ON_SITE, JobStatus.INCOMPLETE}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.INCOMPLETE: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}
# The status groups, beside the moves that define them: every reader asks these, none keeps its own.
OPEN_STATUSES = frozenset(s for s, nxt in TRANSITIONS.items() if nxt)
CLOSED_STATUSES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
NOT_STARTED_STATUSES = frozenset({JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.DISPATCHED})  # assignable, plannable
UNDERWAY_STATUSES = frozenset({JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.PAUSED})  # the technician is on it
AT_SITE_STATUSES = frozenset({JobStatus.ON_SITE, JobStatus.PAUSED})  # work begun there: the planner cannot move it
VISITED_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.INCOMPLETE})  # a technician was there: a past visit


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("window_end IS NULL OR window_start IS NULL OR window_end > window_start", name="window"),
        Index("ix_jobs_technician_planned", "technician_id", "planned_start"),
        Index("ix_jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[JobType] = mapped_column(str_enum(JobType, "job_type"))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status"), default=JobStatus.NEW)
    priority: Mapped[int] = mapped_column(default=3)  # 1 = emergency ... 4 = whenever
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), default=None)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), default=None)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    duration_minutes: Mapped[int]
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sla_due: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Assignment.
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), default=None)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    pinned: Mapped[bool] = mapped_column(default=False)
    # The appointment has been told to the customer: moving it costs goodwill (the re-planner knows).
    communicated: Mapped[bool] = mapped_column(default=False)
    # What happened in the field.
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    # Dependency: this job starts at least after_gap_minutes after job after_job_id ends (any technician).
    after_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None)
    after_gap_minutes: Mapped[int] = mapped_column(default=0)
    # Crew: this many technicians do the visit together, starting at once (the lead is technician_id; the
    # others are JobCrewMember rows); the required skills must be held between them.
    crew_size: Mapped[int] = mapped_column(default=1)
    # Multi-day work: visit k of a job spread over consecutive days (visit_of_id = visit 1). Visits after
    # the first are not planned on their own: planning visit 1 pins each next visit to the same technician
    # on the following day.
    visit_of_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), default=None)
    visit_number: Mapped[int] = mapped_column(default=1)
    # The company's own fields, declared in the configuration ([custom_fields.X]) and checked by the services.
    custom_fields: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Parts the visit needs, by SKU (`jobs create|edit --parts FLT-01:2`): assigning checks the technician's van.
    parts_needed: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Bookkeeping for optimistic concurrency and audit.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    required_skills: Mapped[list[JobSkill]] = relationship(
        back_populates="job", cascade="all, delete-orphan", lazy="selectin"
    )
    notes: Mapped[list[JobNote]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobNote.created_at"
    )

    def skill_requirements(self) -> dict[str, int]:
        return {js.skill.code: js.min_level for js in self.required_skills}


class JobCrewMember(Base):
    """A technician in a job's crew besides its lead (``Job.technician_id``), seat 2..crew_size."""

    __tablename__ = "job_crew_members"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seat: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)


class JobSkill(Base):
    __tablename__ = "job_skills"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    min_level: Mapped[int] = mapped_column(default=1)

    job: Mapped[Job] = relationship(back_populates="required_skills")
    skill: Mapped[Skill] = relationship(lazy="joined")


class NoteAuthorKind(StrEnum):
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"
    SYSTEM = "system"


class JobNote(Base):
    __tablename__ = "job_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    author_kind: Mapped[NoteAuthorKind] = mapped_column(str_enum(NoteAuthorKind, "note_author_kind"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[Job] = relationship(back_populates="notes")
